package marigold4j.estimator.diffusers;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ModelIndex;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Detection;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.Family;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;
import marigold4j.pipeline.diffusers.IntrinsicTarget;
import marigold4j.pipeline.diffusers.MarigoldDiffusersPipeline;
import marigold4j.pipeline.diffusers.MarigoldDiffusersPipeline.Task;
import marigold4j.pipeline.diffusers.MarigoldVisuals.PredictionSpace;

/**
 * The Marigold checkpoints diffusers runs with its {@code MarigoldDepthPipeline}, {@code MarigoldNormalsPipeline} and
 * {@code MarigoldIntrinsicsPipeline} (v1.1 depth and normals, LCM, IID appearance and lighting), recognised by
 * {@code model_index.json}'s {@code _class_name}. The maps come from {@code prediction_type} and, for intrinsics,
 * {@code target_properties}: each target, and each named channel of a stack target (appearance's {@code material}
 * gives {@code material}, {@code roughness}, {@code metallicity}).
 */
public final class MarigoldDiffusersFamily implements Family {
  static final String NAME = "marigold-diffusers";
  private static final Set<String> CLASSES = Set.of("MarigoldDepthPipeline", "MarigoldNormalsPipeline",
      "MarigoldIntrinsicsPipeline");

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public DensePrediction.Convention convention() {
    return DensePrediction.Convention.DIFFUSERS;
  }

  @Override
  public Optional<Detection> detect(Path checkpoint, String name) {
    if (!Files.isRegularFile(checkpoint.resolve(ModelIndex.FILE))) return Optional.empty();
    ModelIndex index = ModelIndex.read(checkpoint);
    if (!CLASSES.contains(index.className())) return Optional.empty();
    Task task = MarigoldDiffusersPipeline.taskOf(index);
    List<Modality> maps = switch (task) {
      case DEPTH -> List.of(Modality.DEPTH);
      case NORMALS -> List.of(Modality.NORMALS);
      case INTRINSICS -> intrinsicMaps(index);
    };
    return Optional.of(new Detection(this, maps, ModelIndex.FILE + ": _class_name " + index.className()
        + ", prediction_type '" + task.jsonName() + "'"));
  }

  /** The maps of an intrinsics checkpoint: every target, then the named channels of each stack. */
  static List<Modality> intrinsicMaps(ModelIndex index) {
    Map<String, IntrinsicTarget> all = new java.util.LinkedHashMap<>();
    List<IntrinsicTarget> targets = MarigoldDiffusersPipeline.targetsOf(index, all);
    List<Modality> maps = new ArrayList<>();
    try {
      for (IntrinsicTarget t : targets) {
        maps.add(Modality.target(t.name(), 3));
        if (t.space() == PredictionSpace.STACK) {
          for (String sub : t.subTargets()) if (sub != null) maps.add(Modality.target(sub, 1));
        }
      }
    } catch (IllegalArgumentException e) {
      throw new CheckpointException(index.file(), "target_properties: " + e.getMessage());
    }
    return maps;
  }

  @Override
  public Estimator load(Path checkpoint, Detection detection, Precision precision, String device) {
    return new MarigoldDiffusersEstimator(MarigoldDiffusersPipeline.load(checkpoint, precision, device),
        detection.maps());
  }
}
