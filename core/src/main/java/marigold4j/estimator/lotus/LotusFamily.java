package marigold4j.estimator.lotus;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Detection;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.Family;
import marigold4j.pipeline.LotusPipeline;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;

/**
 * Lotus-G and Lotus-D (EnVision-Research/Lotus): one map per checkpoint. The family and the variant come from the
 * contents ({@link LotusPipeline#identify}: the pipeline class, else the UNet's task embedding and input channels).
 * Lotus checkpoints do not declare their task, so depth vs normals and depth vs disparity come from the checkpoint's
 * name (the releases are named {@code lotus-normal-...} and {@code lotus-depth-...-disparity}).
 *
 * <p>The registered instance detects; a detection carries an instance that also knows the checkpoint's variant and
 * whether it predicts disparity.
 */
public final class LotusFamily implements Family {
  private final LotusPipeline.Variant variant;             // null for the registered instance
  private final boolean disparity;

  public LotusFamily() {
    this(null, false);
  }

  private LotusFamily(LotusPipeline.Variant variant, boolean disparity) {
    this.variant = variant;
    this.disparity = disparity;
  }

  @Override
  public String name() {
    return "lotus";
  }

  @Override
  public DensePrediction.Convention convention() {
    return DensePrediction.Convention.LOTUS_INFER_PY;
  }

  /** The detected checkpoint's variant (G: {@code --mode generation}, D: {@code regression}); empty if not detected. */
  public Optional<LotusPipeline.Variant> variant() {
    return Optional.ofNullable(variant);
  }

  /** Whether the detected checkpoint predicts disparity (its depth colours are then reversed by default). */
  public boolean disparity() {
    return disparity;
  }

  @Override
  public Optional<Detection> detect(Path checkpoint, String name) {
    return LotusPipeline.identify(checkpoint).map(id -> {
      String label = name == null ? checkpoint.toString() : name;
      String lower = label.toLowerCase(Locale.ROOT);
      Modality map = lower.contains("normal") ? Modality.NORMALS : Modality.DEPTH;
      boolean disp = map == Modality.DEPTH && lower.contains("disparity");
      String evidence = id.evidence() + " (Lotus-" + id.variant() + "); " + map.cliName() + (disp ? " as disparity"
          : "") + " from the name '" + label + "' (Lotus checkpoints do not declare their task)";
      return new Detection(new LotusFamily(id.variant(), disp), List.of(map), evidence);
    });
  }

  @Override
  public Estimator load(Path checkpoint, Detection detection, Precision precision, String device) {
    return new LotusEstimator(LotusPipeline.load(checkpoint, precision, device), detection.maps().get(0), disparity);
  }
}
