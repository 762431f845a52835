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
import marigold4j.pipeline.Prediction;
import marigold4j.pipeline.diffusers.MarigoldEnsembles;
import marigold4j.random.NoiseSource;

/**
 * A {@link LotusPipeline} as an {@link Estimator}: infer.py's settings (768 px, bilinear, timestep 999) and files.
 * Lotus predicts in one step: more denoising steps are refused rather than ignored; an ensemble is marigold4j's own.
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
        .outputUncertainty(false)
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
    if (s.colorMap() != null) Colormap.named(s.colorMap());       // Lotus colours depth with Spectral only
    LotusOptions o = defaultOptions();
    if (s.processingRes() != null) o = o.withProcessingRes(s.processingRes());
    if (s.matchInputRes() != null) o = o.withMatchInputRes(s.matchInputRes());
    if (s.resample() != null) o = o.withResampleMethod(s.resample());
    if (s.timestep() != null) o = o.withTimestep(s.timestep());
    if (s.disparity() != null) o = o.withDisparity(s.disparity());
    return o;
  }

  /**
   * One prediction, or with {@code ensembleSize} E > 1 marigold4j's own test-time ensemble (infer.py has none): E
   * calls drawing successive noise from {@code noise} (Lotus-G's latent, the VAE sample), combined as diffusers'
   * Marigold ensembles them: depth aligned by scale and shift and reduced by the median, its uncertainty the median
   * absolute deviation; normals reduced by the normalised mean, their uncertainty the mean angle to it / pi.
   */
  @Override
  public DensePrediction predict(PilImage image, EstimatorSettings settings, NoiseSource noise) {
    LotusOptions o = options(settings);
    LotusNoise draws = noise == null ? null : LotusNoise.of(noise);
    int e = settings.ensembleSize() == null ? 1 : settings.ensembleSize();
    Prediction p = e == 1 ? pipeline.predict(image, o, draws) : ensemble(image, o, draws, e);
    return new DensePrediction(Map.of(map, p), DensePrediction.Convention.LOTUS_INFER_PY);
  }

  private Prediction ensemble(PilImage image, LotusOptions o, LotusNoise draws, int e) {
    java.util.List<Prediction> members = new java.util.ArrayList<>();
    for (int i = 0; i < e; i++) members.add(pipeline.predict(image, o, draws));
    int h = members.get(0).height();
    int w = members.get(0).width();
    try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
      int c = map == Modality.DEPTH ? 1 : 3;
      float[] all = new float[e * c * h * w];
      for (int i = 0; i < e; i++) {
        System.arraycopy(members.get(i).values(), 0, all, i * c * h * w, c * h * w);
      }
      org.bytedeco.pytorch.Tensor stacked = marigold4j.torch.Tensors.fromFloats(all, e, c, h, w);
      MarigoldEnsembles.Result r = map == Modality.DEPTH
          ? MarigoldEnsembles.depth(stacked, true, true, true, MarigoldEnsembles.Reduction.MEDIAN,
              MarigoldEnsembles.DepthSettings.defaults(), null)
          : MarigoldEnsembles.normals(stacked, true, MarigoldEnsembles.Reduction.MEAN);
      float[] values = marigold4j.torch.Tensors.toFloats(r.prediction().contiguous());
      float[] unc = marigold4j.torch.Tensors.toFloats(r.uncertainty().contiguous());
      return map == Modality.DEPTH ? LotusPipeline.depthPrediction(values, h, w, o.disparity(), unc)
          : LotusPipeline.normalsPrediction(values, h, w, unc);
    }
  }

  /** infer.py's visuals: depth min-max coloured with Spectral (reversed for disparity), normals (n + 1) / 2. */
  @Override
  public Prediction present(Modality m, int height, int width, float[] values, float[] uncertainty,
      EstimatorSettings settings) {
    if (m == Modality.DEPTH) {
      return LotusPipeline.depthPrediction(values, height, width, options(settings).disparity(), uncertainty);
    }
    return LotusPipeline.normalsPrediction(values, height, width, uncertainty);
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
