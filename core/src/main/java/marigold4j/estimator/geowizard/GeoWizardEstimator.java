package marigold4j.estimator.geowizard;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.image.PilImage;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.pipeline.GeoWizardOptions;
import marigold4j.pipeline.GeoWizardPipeline;
import marigold4j.pipeline.GeoWizardPrediction;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;
import marigold4j.random.NoiseSource;

/**
 * A {@link GeoWizardPipeline} as an {@link Estimator}: depth and normals from one call, run_infer.py's settings
 * (default domain indoor) and files.
 */
public final class GeoWizardEstimator implements Estimator {
  private final GeoWizardPipeline pipeline;

  /** Wraps {@code pipeline} (owned from now on: closed with this estimator). */
  public GeoWizardEstimator(GeoWizardPipeline pipeline) {
    this.pipeline = pipeline;
  }

  @Override
  public String family() {
    return "geowizard";
  }

  @Override
  public List<Modality> maps() {
    return List.of(Modality.DEPTH, Modality.NORMALS);
  }

  @Override
  public boolean hasDomains() {
    return true;
  }

  @Override
  public EstimatorSettings defaults() {
    GeoWizardOptions o = pipeline.defaults(Domain.INDOOR);
    return EstimatorSettings.builder().denoisingSteps(o.denoisingSteps()).ensembleSize(o.ensembleSize())
        .processingRes(o.processingRes()).matchInputRes(o.matchInputRes()).batchSize(o.batchSize())
        .colorMap(o.colorMap()).noise(o.noise()).timestepSpacing(o.timestepSpacing()).domain(o.domain()).build();
  }

  @Override
  public NoiseSource seeded(long seed) {
    return GeoWizardPipeline.seedLikeRunInfer(seed);
  }

  /** The pipeline's options for {@code s}: run_infer.py's defaults for its domain, overridden by what it sets. */
  public GeoWizardOptions options(EstimatorSettings s) {
    GeoWizardOptions o = pipeline.defaults(s.domain() != null ? s.domain() : Domain.INDOOR);
    if (s.denoisingSteps() != null) o = o.withDenoisingSteps(s.denoisingSteps());
    if (s.ensembleSize() != null) o = o.withEnsembleSize(s.ensembleSize());
    if (s.processingRes() != null) o = o.withProcessingRes(s.processingRes());
    if (s.matchInputRes() != null) o = o.withMatchInputRes(s.matchInputRes());
    if (s.batchSize() != null) o = o.withBatchSize(s.batchSize());
    if (s.colorMap() != null) o = o.withColorMap(s.colorMap());
    if (s.noise() != null) o = o.withNoise(s.noise());
    if (s.timestepSpacing() != null) o = o.withTimestepSpacing(s.timestepSpacing());
    return o;
  }

  @Override
  public DensePrediction predict(PilImage image, EstimatorSettings settings, NoiseSource noise) {
    GeoWizardPrediction both = pipeline.predict(image, options(settings), noise);
    Map<Modality, marigold4j.pipeline.Prediction> maps = new LinkedHashMap<>();
    maps.put(Modality.DEPTH, both.depth());
    maps.put(Modality.NORMALS, both.normals());
    return new DensePrediction(maps, DensePrediction.Convention.RUN_INFER_PY);
  }

  /** The typed pipeline underneath, for callers of its own API. */
  public GeoWizardPipeline pipeline() {
    return pipeline;
  }

  @Override
  public Precision precision() {
    return pipeline.precision();
  }

  @Override
  public Path checkpoint() {
    return pipeline.checkpoint();
  }

  @Override
  public void close() {
    pipeline.close();
  }
}
