package marigold4j.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A diffusers pipeline folder's {@code model_index.json}: the pipeline class, its components (sub-folder name ->
 * {@code [library, class]}, either of which may be {@code null}) and any other settings stored next to them (newer
 * Marigold releases store {@code default_denoising_steps} and {@code default_processing_resolution}).
 *
 * <p>An unknown pipeline class is not an error by itself; it becomes one, with the class named, only when a caller asks
 * for a component the file does not provide.
 */
public final class ModelIndex {
  public static final String FILE = "model_index.json";

  /** A component entry; {@code library} and {@code className} are null for an absent optional component. */
  public record Component(String library, String className) {
    /** True for {@code [null, null]} (e.g. Stable Diffusion's disabled {@code safety_checker}). */
    public boolean isNull() {
      return className == null;
    }
  }

  /** The pipeline classes this project knows. */
  public enum PipelineClass {
    /** Marigold's own pipeline (prs-eth/Marigold, E2E-FT). */
    MARIGOLD("MarigoldPipeline"),
    /** diffusers' Marigold depth pipeline (0.28+). */
    MARIGOLD_DEPTH("MarigoldDepthPipeline"),
    /** diffusers' Marigold normals pipeline (0.28+). */
    MARIGOLD_NORMALS("MarigoldNormalsPipeline"),
    /** diffusers' Marigold intrinsic image decomposition pipeline (0.33+). */
    MARIGOLD_INTRINSICS("MarigoldIntrinsicsPipeline"),
    /** What E2E-FT's training saves, and the Stable Diffusion 2 starting point. */
    STABLE_DIFFUSION("StableDiffusionPipeline"),
    /** GeoWizard's joint depth / normals pipeline. */
    GEOWIZARD("DepthNormalEstimationPipeline"),
    UNKNOWN(null);

    private final String pythonName;

    PipelineClass(String pythonName) {
      this.pythonName = pythonName;
    }

    /** The {@code _class_name} value, null for {@link #UNKNOWN}. */
    public String pythonName() {
      return pythonName;
    }

    static PipelineClass of(String className) {
      for (PipelineClass p : values()) {
        if (className.equals(p.pythonName)) return p;
      }
      return UNKNOWN;
    }
  }

  private final Path file;
  private final String className;
  private final String diffusersVersion;
  private final Map<String, Component> components;
  private final Map<String, Object> extras;

  private ModelIndex(Path file, String className, String diffusersVersion, Map<String, Component> components,
      Map<String, Object> extras) {
    this.file = file;
    this.className = className;
    this.diffusersVersion = diffusersVersion;
    this.components = Collections.unmodifiableMap(components);
    this.extras = Collections.unmodifiableMap(extras);
  }

  /** Reads {@code <pipelineDir>/model_index.json} (a path to the file itself is accepted too). */
  public static ModelIndex read(Path pipelineDir) {
    Path file = Files.isRegularFile(pipelineDir) ? pipelineDir : pipelineDir.resolve(FILE);
    JsonNode root;
    try {
      root = ConfigJson.mapper().readTree(Files.readAllBytes(file));
    } catch (NoSuchFileException e) {
      throw new CheckpointException(file, "file not found (not a diffusers pipeline folder?)");
    } catch (JsonProcessingException e) {
      throw new CheckpointException(file, "invalid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new CheckpointException(file, "cannot read: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) throw new CheckpointException(file, "expected a JSON object");
    JsonNode cls = root.get("_class_name");
    if (cls == null || !cls.isTextual()) throw new CheckpointException(file, "_class_name is missing or not a string");
    JsonNode version = root.get("_diffusers_version");

    Map<String, Component> components = new LinkedHashMap<>();
    Map<String, Object> extras = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = e.getKey();
      JsonNode v = e.getValue();
      if (key.startsWith("_")) continue;  // bookkeeping: _class_name, _diffusers_version, _name_or_path
      if (isComponent(v)) {
        components.put(key, new Component(textOrNull(v.get(0)), textOrNull(v.get(1))));
      } else {
        extras.put(key, ConfigJson.mapper().convertValue(v, Object.class));
      }
    }
    ModelIndex index = new ModelIndex(file, cls.asText(), version != null && version.isTextual() ? version.asText()
        : null, components, extras);
    // fail now, naming the file, rather than when a pipeline first asks
    index.intExtra("default_denoising_steps");
    index.intExtra("default_processing_resolution");
    return index;
  }

  /** A component is a two-element array of strings or nulls: {@code ["diffusers", "AutoencoderKL"]}. */
  private static boolean isComponent(JsonNode v) {
    return v.isArray() && v.size() == 2 && (v.get(0).isTextual() || v.get(0).isNull())
        && (v.get(1).isTextual() || v.get(1).isNull());
  }

  private static String textOrNull(JsonNode n) {
    return n.isNull() ? null : n.asText();
  }

  /** The file read. */
  public Path file() {
    return file;
  }

  /** The pipeline folder (the file's parent). */
  public Path directory() {
    return file.toAbsolutePath().getParent();
  }

  /** {@code _class_name} as written, e.g. {@code MarigoldPipeline}. */
  public String className() {
    return className;
  }

  /** The known class {@link #className()} names, or {@link PipelineClass#UNKNOWN}. */
  public PipelineClass pipelineClass() {
    return PipelineClass.of(className);
  }

  /** {@code _diffusers_version}, when present. */
  public Optional<String> diffusersVersion() {
    return Optional.ofNullable(diffusersVersion);
  }

  /** Every component in file order, null components ({@code [null, null]}) included. */
  public Map<String, Component> components() {
    return components;
  }

  /** The named component, empty when the file does not list it or lists it as {@code [null, null]}. */
  public Optional<Component> component(String name) {
    Component c = components.get(name);
    return c == null || c.isNull() ? Optional.empty() : Optional.of(c);
  }

  /** The named, non-null component; a {@link CheckpointException} naming the file, the component and the class. */
  public Component requireComponent(String name) {
    Component c = components.get(name);
    if (c != null && !c.isNull()) return c;
    String cls = pipelineClass() == PipelineClass.UNKNOWN ? "unknown pipeline class '" + className + "'"
        : "pipeline class " + className;
    throw new CheckpointException(file, (c == null ? "has no component '" : "component is null: '") + name + "' ("
        + cls + "; components: " + components.keySet() + ")");
  }

  /** Settings that are not components (e.g. {@code requires_safety_checker}), as plain Java values. */
  public Map<String, Object> extras() {
    return extras;
  }

  public Optional<Object> extra(String key) {
    return Optional.ofNullable(extras.get(key));
  }

  /** {@code default_denoising_steps} (newer Marigold indexes). */
  public OptionalInt defaultDenoisingSteps() {
    return intExtra("default_denoising_steps");
  }

  /** {@code default_processing_resolution} (newer Marigold indexes). */
  public OptionalInt defaultProcessingResolution() {
    return intExtra("default_processing_resolution");
  }

  private OptionalInt intExtra(String key) {
    Object v = extras.get(key);
    if (v == null) return OptionalInt.empty();
    if (v instanceof Integer i) return OptionalInt.of(i);
    throw new CheckpointException(file, key + " must be an integer, got " + v);
  }

  @Override
  public String toString() {
    return "ModelIndex(" + className + ", " + file + ", components " + components.keySet() + ")";
  }
}
