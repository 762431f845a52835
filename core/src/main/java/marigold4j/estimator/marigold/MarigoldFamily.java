package marigold4j.estimator.marigold;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import marigold4j.checkpoint.ModelIndex;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Detection;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.Family;
import marigold4j.pipeline.MarigoldPipeline;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;

/**
 * Marigold and E2E-FT checkpoints (and Stable Diffusion fine-tunes in the same layout): one map, depth or normals.
 * The map comes from {@code model_index.json}'s {@code prediction_type} where it declares one (diffusers' Marigold
 * pipelines do); the original Marigold and E2E-FT releases declare nothing, so there the checkpoint's name decides
 * (normals when it contains "normal"), as run.py's users name them.
 */
public final class MarigoldFamily implements Family {
  @Override
  public String name() {
    return "marigold";
  }

  @Override
  public DensePrediction.Convention convention() {
    return DensePrediction.Convention.RUN_PY;
  }

  @Override
  public Optional<Detection> detect(Path checkpoint, String name) {
    if (!Files.isRegularFile(checkpoint.resolve(ModelIndex.FILE)) && !Files.isDirectory(checkpoint.resolve("unet"))) {
      return Optional.empty();
    }
    if (Files.isRegularFile(checkpoint.resolve(ModelIndex.FILE))) {
      Object declared = ModelIndex.read(checkpoint).extra("prediction_type").orElse(null);
      if (declared instanceof String s) {
        return Optional.of(new Detection(this, List.of(Modality.parse(s)),
            ModelIndex.FILE + ": prediction_type '" + s + "'"));
      }
    }
    String label = name == null ? checkpoint.toString() : name;
    boolean normals = label.toLowerCase(Locale.ROOT).contains("normal");
    return Optional.of(new Detection(this, List.of(normals ? Modality.NORMALS : Modality.DEPTH),
        "the name '" + label + "' (" + ModelIndex.FILE + " declares no prediction_type)"));
  }

  @Override
  public Estimator load(Path checkpoint, Detection detection, Precision precision, String device) {
    return new MarigoldEstimator(MarigoldPipeline.load(checkpoint, precision, device), detection.maps().get(0));
  }
}
