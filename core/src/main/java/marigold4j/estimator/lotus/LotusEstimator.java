package marigold4j.estimator.lotus;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.image.Colormap;
import marigold4j.image.PilImage;
import marigold4j.pipeline.LotusNoise;
import marigold4j.pipeline.LotusOptions;
import marigold4j.pipeline.LotusPipeline;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;
import marigold4j.pipeline.Precision;
import marigold4j.random.NoiseSource;

/**
 * A {@link LotusPipeline} as an {@link Estimator}: infer.py's settings (768 px, bilinear, timestep 999) and files.
 * Lotus predicts in one step: more denoising steps or an ensemble are refused rather than ignored.
 */
public final class LotusEstimator implements Estimator {
  private final LotusPipeline pipeline;
  private final Modality map;
  private final boolean disparity;

  /**
   * Wraps {@code pipeline} (owned from now on: closed with this estimator).
   *
   * @param map what the checkpoint predicts
   * @param disparity whether it predicts disparity (the default of {@link EstimatorSettings#disparity()})
   */
  public LotusEstimator(LotusPipeline pipeline, Modality map, boolean disparity) {
    this.pipeline = pipeline;
    this.map = map;
    this.disparity = disparity;
  }

  @Override
  public String family() {
    return "lotus";
  }

  @Override
  public List<Modality> maps() {
    return List.of(map);
  }

  @Override
  public EstimatorSettings defaults() {
    LotusOptions o = defaultOptions();
    // noise reports what the UNet sees beside the image latent: Lotus-G a Gaussian latent, Lotus-D nothing
    NoiseType noise = pipeline.variant() == LotusPipeline.Variant.G ? NoiseType.GAUSSIAN : NoiseType.ZEROS;
    return EstimatorSettings.builder().denoisingSteps(1).ensembleSize(1).processingRes(o.processingRes())
        .matchInputRes(o.matchInputRes()).resample(o.resampleMethod()).batchSize(1).colorMap("Spectral")
        .noise(noise).timestep(o.timestep()).disparity(o.disparity()).build();
  }

  private LotusOptions defaultOptions() {
    return LotusOptions.inferPyDefaults(map).withDisparity(disparity);
  }

  /** infer.py's seeding: its {@code torch.Generator} and torch's global generator both start from {@code seed}. */
  @Override
  public NoiseSource seeded(long seed) {
    return LotusNoise.seeded(seed);
  }

  /** The pipeline's options for {@code s}: infer.py's defaults, overridden by what {@code s} sets. */
  public LotusOptions options(EstimatorSettings s) {
    if (s.denoisingSteps() != null && s.denoisingSteps() != 1) {
      throw new IllegalArgumentException("--denoise-steps " + s.denoisingSteps() + ": Lotus makes exactly one UNet "
          + "call, at --timestep (default " + LotusOptions.DEFAULT_TIMESTEP + ")");
    }
    if (s.ensembleSize() != null && s.ensembleSize() != 1) {
      throw new IllegalArgumentException("--ensemble-size " + s.ensembleSize() + ": Lotus predicts without test-time "
          + "ensembling (its infer.py has none); use 1");
    }
    if (s.colorMap() != null) Colormap.named(s.colorMap());       // Lotus colours depth with Spectral only
    LotusOptions o = defaultOptions();
    if (s.processingRes() != null) o = o.withProcessingRes(s.processingRes());
    if (s.matchInputRes() != null) o = o.withMatchInputRes(s.matchInputRes());
    if (s.resample() != null) o = o.withResampleMethod(s.resample());
    if (s.timestep() != null) o = o.withTimestep(s.timestep());
    if (s.disparity() != null) o = o.withDisparity(s.disparity());
    return o;
  }

  @Override
  public DensePrediction predict(PilImage image, EstimatorSettings settings, NoiseSource noise) {
    LotusOptions o = options(settings);
    return new DensePrediction(Map.of(map, pipeline.predict(image, o, noise == null ? null : LotusNoise.of(noise))),
        DensePrediction.Convention.LOTUS_INFER_PY);
  }

  /** The typed pipeline underneath, for callers of its own API. */
  public LotusPipeline pipeline() {
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
