package marigold4j.estimator.geowizard;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Detection;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.Family;
import marigold4j.pipeline.GeoWizardPipeline;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;

/**
 * GeoWizard and its E2E-FT fine-tune: depth and normals from one call, recognised from its contents, never its name
 * ({@link GeoWizardPipeline#detectionEvidence}).
 */
public final class GeoWizardFamily implements Family {
  @Override
  public String name() {
    return "geowizard";
  }

  @Override
  public DensePrediction.Convention convention() {
    return DensePrediction.Convention.RUN_INFER_PY;
  }

  @Override
  public boolean hasDomains() {
    return true;
  }

  @Override
  public Optional<Detection> detect(Path checkpoint, String name) {
    String evidence = GeoWizardPipeline.detectionEvidence(checkpoint);
    return evidence == null ? Optional.empty()
        : Optional.of(new Detection(this, List.of(Modality.DEPTH, Modality.NORMALS), evidence));
  }

  @Override
  public Estimator load(Path checkpoint, Detection detection, Precision precision, String device) {
    return new GeoWizardEstimator(GeoWizardPipeline.load(checkpoint, precision, device));
  }
}
