package marigold4j.estimator;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import marigold4j.geometry.Scene;
import marigold4j.image.AtomicFiles;
import marigold4j.image.Npy;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Prediction;

/**
 * The maps one estimator call produced, by name (depth, normals, ...), each a {@link Prediction} held in Java arrays,
 * and the file convention of the family's original ({@link Convention}). Its files come from {@link OutputFormats}.
 */
public final class DensePrediction {
  /** Whose files {@link #save} writes: the original script's names and layouts. */
  public enum Convention {
    /** Marigold's run.py: normals (3, H, W) in the {@code .npy}, a 16-bit depth PNG. */
    RUN_PY(false, false, List.of(), Map.of()),
    /** GeoWizard's run_infer.py: normals (H, W, 3) in the {@code .npy}, no 16-bit depth PNG. */
    RUN_INFER_PY(true, false, List.of("depth_bw"), Map.of()),
    /**
     * diffusers' Marigold pipelines ({@code output_type="np"}): three-channel maps (H, W, 3) in the {@code .npy}, and
     * the uncertainty and latents when a call produces them.
     */
    DIFFUSERS(true, false, List.of(), Map.of()),
    /**
     * Lotus' infer.py: {@code depth/<name>.npy}, {@code depth_vis/<name>.png}, {@code normal/<name>.npy} (H, W, 3) in
     * [0, 1] (the decoded image, {@code (n + 1) / 2}), {@code normal_vis/<name>.png}; plus marigold4j's own
     * {@code depth_bw/<name>_pred.png} (16-bit) and, for an ensemble, the uncertainty.
     */
    LOTUS_INFER_PY(true, true, List.of(), Map.of(
        "depth_npy", new Placement("depth", ".npy"),
        "depth_colored", new Placement("depth_vis", ".png"),
        "normal_npy", new Placement("normal", ".npy"),
        "normal_colored", new Placement("normal_vis", ".png")));

    /** Where a convention puts a format's files instead of the format's own folder and suffix. */
    private record Placement(String folder, String suffix) {}

    private final boolean normalsHwc;
    private final boolean normalsUnitRange;
    private final List<String> notWritten;
    private final Map<String, Placement> placements;

    Convention(boolean normalsHwc, boolean normalsUnitRange, List<String> notWritten,
        Map<String, Placement> placements) {
      this.normalsHwc = normalsHwc;
      this.normalsUnitRange = normalsUnitRange;
      this.notWritten = notWritten;
      this.placements = placements;
    }

    /** Whether the normal map's {@code .npy} is (H, W, 3) rather than (3, H, W). */
    public boolean normalsHwc() {
      return normalsHwc;
    }

    /**
     * Whether uncertainty maps and latents are written when a prediction has them: marigold4j's own additions for
     * diffusers models and Lotus ensembles (run.py and run_infer.py keep exactly their originals' files).
     */
    public boolean writesUncertainty() {
      return this == DIFFUSERS || this == LOTUS_INFER_PY;
    }

    /** Whether the normal map's {@code .npy} holds {@code (n + 1) / 2} in [0, 1] rather than n in [-1, 1]. */
    public boolean normalsUnitRange() {
      return normalsUnitRange;
    }

    /** Whether {@code predict} writes the folder {@code folder} (the server offers every format regardless). */
    public boolean writes(String folder) {
      return !notWritten.contains(folder);
    }

    /**
     * The folder this convention writes {@code format} of {@code map} to (the format's own folder unless the original
     * renames it).
     */
    public String folder(OutputFormat format, Modality map) {
      Placement p = placements.get(format.folder(map));
      return p == null ? format.folder(map) : p.folder();
    }

    /** What follows the input's base name in the file name of {@code format} of {@code map} under this convention. */
    public String suffix(OutputFormat format, Modality map) {
      Placement p = placements.get(format.folder(map));
      return p == null ? format.suffix() : p.suffix();
    }
  }

  private final Map<Modality, Prediction> maps;
  private final Convention convention;
  private final Npy.Array latent;
  private final Scene scene;

  /** @throws NonFiniteOutputException when a map holds NaN or infinite values (nothing would be worth writing) */
  public DensePrediction(Map<Modality, Prediction> maps, Convention convention) {
    this(maps, convention, null);
  }

  /**
   * @param latent the final prediction latents of the call, or null
   * @throws NonFiniteOutputException when a map holds NaN or infinite values
   */
  public DensePrediction(Map<Modality, Prediction> maps, Convention convention, Npy.Array latent) {
    if (maps.isEmpty()) throw new IllegalArgumentException("a prediction without maps");
    maps.forEach((name, p) -> {
      long bad = p.nonFiniteCount();
      if (bad > 0) throw new NonFiniteOutputException(name, bad, p.numel());
    });
    this.maps = new LinkedHashMap<>(maps);
    this.convention = convention;
    this.latent = latent;
    this.scene = null;
  }

  private DensePrediction(DensePrediction p, Scene scene) {
    this.maps = p.maps;
    this.convention = p.convention;
    this.latent = p.latent;
    this.scene = scene;
  }

  /**
   * This prediction with the geometry of its image ({@link Scene#of}): {@link #save} then also writes the float maps,
   * metric depth, point cloud and meshes the scene's request asks for.
   */
  public DensePrediction withScene(Scene scene) {
    return new DensePrediction(this, scene);
  }

  /** The geometry attached by {@link #withScene}, or null. */
  public Scene scene() {
    return scene;
  }

  /** The call's final prediction latents (diffusers' {@code output_latent}), or null. */
  public Npy.Array latent() {
    return latent;
  }

  /** The maps, in the estimator's order. */
  public List<Modality> names() {
    return List.copyOf(maps.keySet());
  }

  /** The map {@code name}, or an exception saying which maps there are. */
  public Prediction map(Modality name) {
    Prediction p = maps.get(name);
    if (p == null) {
      throw new IllegalArgumentException("no " + name.cliName() + " map (this prediction has " + names() + ")");
    }
    return p;
  }

  public Convention convention() {
    return convention;
  }

  /**
   * Writes every file of every registered format that applies to this prediction, each atomically, as
   * {@code <outputDir>/<format folder>/<name><format suffix>} (folder and suffix as the {@link Convention} places
   * them): the files the family's original script writes.
   *
   * @param name the input file's name without its extension
   */
  public void save(Path outputDir, String name) {
    for (Modality m : maps.keySet()) {
      for (OutputFormat f : OutputFormats.all()) {
        if (!OutputFormats.writes(f, m, convention)) continue;
        Path file = outputDir.resolve(convention.folder(f, m)).resolve(name + convention.suffix(f, m));
        if (f.streamed()) {
          if (f.has(this, m)) AtomicFiles.write(file, out -> f.write(this, m, out));
          continue;
        }
        byte[] data = f.encode(this, m);
        if (data == null) continue;
        AtomicFiles.write(file, out -> out.write(data));
      }
    }
  }
}
