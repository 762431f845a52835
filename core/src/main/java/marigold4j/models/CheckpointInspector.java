package marigold4j.models;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ConfigJson;
import marigold4j.checkpoint.ModelIndex;
import marigold4j.nn.Module;
import marigold4j.nn.Parameter;
import marigold4j.torch.Tensors;
import marigold4j.weights.DType;
import marigold4j.weights.SafeTensors;
import marigold4j.weights.WeightFiles;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * Describes a checkpoint component by component: class, parameter count, dtype, size, and every parameter's name
 * and shape — either as stored in the weight files, or as the Java models expect them from the configs alone.
 */
public final class CheckpointInspector {
  private CheckpointInspector() {}

  /** One tensor of a component. */
  public record ParameterInfo(String name, long[] shape, String dtype) {
    @Override
    public boolean equals(Object o) {
      return o instanceof ParameterInfo p && name.equals(p.name) && Arrays.equals(shape, p.shape)
          && dtype.equals(p.dtype);
    }

    @Override
    public int hashCode() {
      return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
      return name + " " + Arrays.toString(shape) + " " + dtype;
    }
  }

  /** One component; the numeric fields and the list are null for components without weights. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record ComponentInfo(
      @JsonProperty("class") String className,
      @JsonProperty("num_parameters") Long numParameters,
      @JsonProperty("dtype") String dtype,
      @JsonProperty("size_bytes") Long sizeBytes,
      @JsonProperty("files") List<String> files,
      @JsonProperty("parameters") List<ParameterInfo> parameters) {}

  /** What {@code inspect} reports: the pipeline class and each component, in model_index order. */
  public record Report(
      @JsonProperty("checkpoint") String checkpoint,
      @JsonProperty("pipeline") String pipeline,
      @JsonProperty("source") String source,
      @JsonProperty("components") Map<String, ComponentInfo> components) {}

  /** The parameters the Java models expect, from the configs alone (no weight file is opened). */
  public static Report expected(Path checkpoint) {
    return inspect(checkpoint, true, null);
  }

  /** The tensors stored in the weight files (safetensors: headers only; .bin: the archive is read). */
  public static Report stored(Path checkpoint, String variant) {
    return inspect(checkpoint, false, variant);
  }

  /**
   * The weights that hold NaN or infinite values, per component folder: {@code "<name>: <count> of <numel>"} for each
   * such tensor (empty lists for clean components). Reads every weight, one component at a time.
   */
  public static Map<String, List<String>> nonFiniteWeights(Path checkpoint, String variant) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    List<Path> dirs = new ArrayList<>();
    if (Files.isRegularFile(checkpoint.resolve("config.json"))) {
      dirs.add(checkpoint);
    } else {
      ModelIndex.read(checkpoint).components().forEach((name, c) -> {
        if (c.className() != null && ComponentModels.hasWeights(c.className())
            && Files.isDirectory(checkpoint.resolve(name))) {
          dirs.add(checkpoint.resolve(name));
        }
      });
    }
    for (Path dir : dirs) {
      List<String> bad = new ArrayList<>();
      try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
        marigold4j.weights.WeightFiles.load(dir, variant).forEach((name, t) -> {
          if (!t.is_floating_point()) return;
          long count = t.isfinite().logical_not().sum().item_long();
          if (count > 0) bad.add(name + ": " + count + " of " + t.numel());
        });
      }
      bad.sort(null);
      out.put(dir.getFileName().toString(), bad);
    }
    return out;
  }

  private static Report inspect(Path checkpoint, boolean fromConfig, String variant) {
    Map<String, String> classes = new LinkedHashMap<>();
    String pipeline;
    if (Files.isRegularFile(checkpoint.resolve(ModelIndex.FILE))) {
      ModelIndex index = ModelIndex.read(checkpoint);
      pipeline = index.className();
      index.components().forEach((name, c) -> {
        if (c.className() != null) classes.put(name, c.className());
      });
    } else if (Files.isRegularFile(checkpoint.resolve("config.json"))) {
      // a single component folder (e.g. .../unet)
      pipeline = null;
      classes.put(checkpoint.getFileName().toString(), componentClass(checkpoint));
    } else {
      throw new CheckpointException(checkpoint, "not a checkpoint folder: neither model_index.json nor config.json");
    }
    Map<String, ComponentInfo> out = new LinkedHashMap<>();
    classes.forEach((name, cls) -> {
      Path dir = pipeline == null ? checkpoint : checkpoint.resolve(name);
      if (!ComponentModels.hasWeights(cls)) {
        out.put(name, new ComponentInfo(cls, null, null, null, null, null));
      } else if (!Files.isDirectory(dir)) {
        throw new CheckpointException(dir, "component '" + name + "' (" + cls + ") is listed in model_index.json "
            + "but its folder is missing");
      } else {
        Module model = ComponentModels.fromConfig(cls, dir);
        out.put(name, fromConfig ? describe(cls, model) : describeFiles(cls, model, dir, variant));
      }
    });
    return new Report(checkpoint.toString(), pipeline, fromConfig ? "config" : "weights", out);
  }

  private static String componentClass(Path dir) {
    var json = ConfigJson.mapper();
    try {
      String cls = json.readTree(dir.resolve("config.json").toFile()).path("_class_name").asText("");
      if (cls.isEmpty()) {
        cls = json.readTree(dir.resolve("config.json").toFile()).path("architectures").path(0).asText("");
      }
      if (cls.isEmpty()) throw new CheckpointException(dir.resolve("config.json"), "no _class_name or architectures");
      return cls;
    } catch (java.io.IOException e) {
      throw new CheckpointException(dir.resolve("config.json"), "invalid JSON: " + e.getMessage(), e);
    }
  }

  private static ComponentInfo describe(String cls, Module model) {
    List<ParameterInfo> params = new ArrayList<>();
    long bytes = 0;
    for (Map.Entry<String, Parameter> e : model.stateDictSlots().entrySet()) {
      params.add(new ParameterInfo(e.getKey(), e.getValue().shape(), DType.F32.pythonName()));
      bytes += e.getValue().numel() * DType.F32.bytes();
    }
    return new ComponentInfo(cls, model.numParameters(), DType.F32.pythonName(), bytes, null, params);
  }

  private static ComponentInfo describeFiles(String cls, Module model, Path dir, String variant) {
    Map<String, Parameter> slots = model.namedParameters();
    List<ParameterInfo> params = new ArrayList<>();
    Map<String, Long> bytesByDtype = new HashMap<>();
    long count = 0;
    long bytes = 0;
    List<Path> files = WeightFiles.files(dir, variant);
    for (Path f : files) {
      for (ParameterInfo p : tensorsOf(f)) {
        params.add(p);
        long n = Arrays.stream(p.shape()).reduce(1, (a, b) -> a * b);
        long b = n * dtypeBytes(p.dtype());
        bytes += b;
        bytesByDtype.merge(p.dtype(), b, Long::sum);
        Parameter slot = slots.get(p.name());
        if (slot == null || slot.kind() == Parameter.Kind.PARAMETER) count += n;
      }
    }
    String dtype = bytesByDtype.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey)
        .orElse(null);
    List<String> names = files.stream().map(p -> dir.relativize(p).toString()).toList();
    return new ComponentInfo(cls, count, dtype, bytes, names, params);
  }

  private static List<ParameterInfo> tensorsOf(Path file) {
    List<ParameterInfo> out = new ArrayList<>();
    if (file.getFileName().toString().endsWith(".safetensors")) {
      SafeTensors.readHeader(file).entries().values()
          .forEach(e -> out.add(new ParameterInfo(e.name(), e.shape(), e.dtype().pythonName())));
      return out;
    }
    try (PointerScope scope = new PointerScope()) {
      for (Map.Entry<String, Tensor> e : WeightFiles.loadFile(file).entrySet()) {
        out.add(new ParameterInfo(e.getKey(), Tensors.shape(e.getValue()),
            DType.fromTorch(Tensors.dtype(e.getValue())).pythonName()));
      }
    }
    return out;
  }

  private static int dtypeBytes(String pythonName) {
    for (DType d : DType.values()) if (d.pythonName().equals(pythonName)) return d.bytes();
    throw new IllegalArgumentException(pythonName);
  }
}
