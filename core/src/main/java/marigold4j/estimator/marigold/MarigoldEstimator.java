package marigold4j.estimator.marigold;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.image.PilImage;
import marigold4j.pipeline.MarigoldOptions;
import marigold4j.pipeline.MarigoldPipeline;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;
import marigold4j.random.NoiseSource;

/** A {@link MarigoldPipeline} as an {@link Estimator} of one map, with run.py's settings and files. */
public final class MarigoldEstimator implements Estimator {
  private final MarigoldPipeline pipeline;
  private final Modality map;

  /** Wraps {@code pipeline} (owned from now on: closed with this estimator), predicting {@code map}. */
  public MarigoldEstimator(MarigoldPipeline pipeline, Modality map) {
    this.pipeline = pipeline;
    this.map = map;
  }

  @Override
  public String family() {
    return "marigold";
  }

  @Override
  public List<Modality> maps() {
    return List.of(map);
  }

  @Override
  public EstimatorSettings defaults() {
    MarigoldOptions o = pipeline.defaults(map);
    return EstimatorSettings.builder().denoisingSteps(o.denoisingSteps()).ensembleSize(o.ensembleSize())
        .processingRes(o.processingRes()).matchInputRes(o.matchInputRes()).resample(o.resampleMethod())
        .batchSize(o.batchSize()).colorMap(o.colorMap()).noise(o.noise()).timestepSpacing(o.timestepSpacing())
        .build();
  }

  @Override
  public NoiseSource seeded(long seed) {
    return MarigoldPipeline.seedLikeRunPy(seed);
  }

  /** The pipeline's options for {@code s}: its defaults, overridden by what {@code s} sets. */
  public MarigoldOptions options(EstimatorSettings s) {
    MarigoldOptions o = pipeline.defaults(map);
    if (s.denoisingSteps() != null) o = o.withDenoisingSteps(s.denoisingSteps());
    if (s.ensembleSize() != null) o = o.withEnsembleSize(s.ensembleSize());
    if (s.processingRes() != null) o = o.withProcessingRes(s.processingRes());
    if (s.matchInputRes() != null) o = o.withMatchInputRes(s.matchInputRes());
    if (s.resample() != null) o = o.withResampleMethod(s.resample());
    if (s.batchSize() != null) o = o.withBatchSize(s.batchSize());
    if (s.colorMap() != null) o = o.withColorMap(s.colorMap());
    if (s.noise() != null) o = o.withNoise(s.noise());
    if (s.timestepSpacing() != null) o = o.withTimestepSpacing(s.timestepSpacing());
    return o;
  }

  @Override
  public DensePrediction predict(PilImage image, EstimatorSettings settings, NoiseSource noise) {
    // PIL's convert("RGB"), as run.py decodes its inputs
    return new DensePrediction(Map.of(map, pipeline.predict(image.toRgbChw(), options(settings), noise)),
        DensePrediction.Convention.RUN_PY);
  }

  /** The typed pipeline underneath, for callers of its own API. */
  public MarigoldPipeline pipeline() {
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
