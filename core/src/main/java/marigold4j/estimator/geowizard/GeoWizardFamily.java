package marigold4j.estimator.geowizard;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ModelIndex;
import marigold4j.estimator.Detection;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.Family;
import marigold4j.models.geowizard.GeoWizardUNet;
import marigold4j.models.unet.UNet2DConditionConfig;
import marigold4j.pipeline.GeoWizardPipeline;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * GeoWizard and its E2E-FT fine-tune: depth and normals from one call, recognised from its contents, never its name:
 * a {@code model_index.json} naming {@code DepthNormalEstimationPipeline} or listing an {@code image_encoder}, or a
 * UNet config with GeoWizard's projection class embedding.
 */
public final class GeoWizardFamily implements Family {
  private static final Logger LOG = LoggerFactory.getLogger(GeoWizardFamily.class);

  @Override
  public String name() {
    return "geowizard";
  }

  @Override
  public marigold4j.estimator.DensePrediction.Convention convention() {
    return marigold4j.estimator.DensePrediction.Convention.RUN_INFER_PY;
  }

  @Override
  public boolean hasDomains() {
    return true;
  }

  @Override
  public Optional<Detection> detect(Path checkpoint, String name) {
    String evidence = evidence(checkpoint);
    return evidence == null ? Optional.empty()
        : Optional.of(new Detection(this, List.of(Modality.DEPTH, Modality.NORMALS), evidence));
  }

  /** Why {@code checkpoint} is a GeoWizard one, or null when it is not (or is unreadable). */
  private static String evidence(Path checkpoint) {
    try {
      if (Files.isRegularFile(checkpoint.resolve(ModelIndex.FILE))) {
        ModelIndex index = ModelIndex.read(checkpoint);
        if (index.pipelineClass() == ModelIndex.PipelineClass.GEOWIZARD) {
          return ModelIndex.FILE + ": _class_name '" + index.className() + "'";
        }
        if (index.component("image_encoder").isPresent()) return ModelIndex.FILE + ": an image_encoder component";
      }
      Path unetConfig = checkpoint.resolve("unet").resolve("config.json");
      if (Files.isRegularFile(unetConfig) && GeoWizardUNet.isGeoWizard(UNet2DConditionConfig.read(unetConfig))) {
        return "unet/config.json: GeoWizard's projection class embedding";
      }
      return null;
    } catch (CheckpointException e) {
      LOG.debug("{} is not a readable GeoWizard checkpoint: {}", checkpoint, e.getMessage());
      return null;
    }
  }

  @Override
  public Estimator load(Path checkpoint, Detection detection, Precision precision, String device) {
    return new GeoWizardEstimator(GeoWizardPipeline.load(checkpoint, precision, device));
  }
}
