package marigold4j.estimator.diffusers;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.image.Npy;
import marigold4j.image.PilImage;
import marigold4j.image.Resize.Interpolation;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;
import marigold4j.pipeline.Prediction;
import marigold4j.pipeline.diffusers.IntrinsicTarget;
import marigold4j.pipeline.diffusers.MarigoldDiffusersOptions;
import marigold4j.pipeline.diffusers.MarigoldDiffusersPipeline;
import marigold4j.pipeline.diffusers.MarigoldDiffusersPipeline.Floats;
import marigold4j.pipeline.diffusers.MarigoldDiffusersPipeline.Task;
import marigold4j.pipeline.diffusers.MarigoldEnsembles.DepthSettings;
import marigold4j.pipeline.diffusers.MarigoldEnsembles.Reduction;
import marigold4j.pipeline.diffusers.MarigoldVisuals;
import marigold4j.pipeline.diffusers.MarigoldVisuals.PredictionSpace;
import marigold4j.random.NoiseSource;
import marigold4j.torch.F;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A {@link MarigoldDiffusersPipeline} as an {@link Estimator}: diffusers' call semantics, its visualisations as the
 * maps' colour images, the uncertainty and latents when asked for. The image is converted to RGB first, as diffusers'
 * {@code load_image} does for its users.
 */
public final class MarigoldDiffusersEstimator implements Estimator {
  private final MarigoldDiffusersPipeline pipeline;
  private final List<Modality> maps;

  public MarigoldDiffusersEstimator(MarigoldDiffusersPipeline pipeline, List<Modality> maps) {
    this.pipeline = pipeline;
    this.maps = List.copyOf(maps);
  }

  /**
   * The noise of a call seeded with {@code seed}: diffusers' {@code generator=torch.Generator("cpu").manual_seed(seed)},
   * a fresh generator for every call, from which every draw of that call comes.
   */
  public record GeneratorSeed(long seed) implements NoiseSource {
    @Override
    public Tensor randnLike(Tensor x) {
      throw new UnsupportedOperationException("a seed, not a generator: the estimator creates one per call");
    }

    @Override
    public Tensor randn(long... shape) {
      throw new UnsupportedOperationException("a seed, not a generator: the estimator creates one per call");
    }

    @Override
    public double random() {
      throw new UnsupportedOperationException("diffusers' Marigold pipelines draw no uniform numbers");
    }
  }

  @Override
  public String family() {
    return MarigoldDiffusersFamily.NAME;
  }

  @Override
  public List<Modality> maps() {
    return maps;
  }

  @Override
  public EstimatorSettings defaults() {
    MarigoldDiffusersOptions o = pipeline.defaults();
    DepthSettings d = o.depthEnsemble();
    return EstimatorSettings.builder().denoisingSteps(o.numInferenceSteps()).ensembleSize(o.ensembleSize())
        .processingRes(o.processingResolution()).matchInputRes(o.matchInputResolution()).resample(o.resampleInput())
        .resampleInput(o.resampleInput()).resampleOutput(o.resampleOutput()).batchSize(o.batchSize())
        .colorMap(pipeline.task() == Task.INTRINSICS ? "binary" : "Spectral")
        .ensembleReduction(o.reduction().cliName()).ensembleRegularizerStrength(d.regularizerStrength())
        .ensembleMaxIter(d.maxIter()).ensembleTol(d.tol()).ensembleMaxRes(d.maxRes())
        .outputUncertainty(false).outputLatent(false).noise(marigold4j.pipeline.NoiseType.GAUSSIAN).build();
  }

  @Override
  public NoiseSource seeded(long seed) {
    return new GeneratorSeed(seed);
  }

  /** The pipeline's options for {@code s}: the checkpoint's defaults, overridden by what {@code s} sets. */
  public MarigoldDiffusersOptions options(EstimatorSettings s) {
    MarigoldDiffusersOptions o = pipeline.defaults();
    if (s.denoisingSteps() != null) o = o.withNumInferenceSteps(s.denoisingSteps());
    if (s.processingRes() != null) o = o.withProcessingResolution(s.processingRes());
    if (s.matchInputRes() != null) o = o.withMatchInputResolution(s.matchInputRes());
    Interpolation in = s.resampleInput() != null ? s.resampleInput() : s.resample() != null ? s.resample()
        : o.resampleInput();
    Interpolation out = s.resampleOutput() != null ? s.resampleOutput() : s.resample() != null ? s.resample()
        : o.resampleOutput();
    o = o.withResample(in, out);
    if (s.batchSize() != null && s.batchSize() > 0) o = o.withBatchSize(s.batchSize());
    Reduction r = s.ensembleReduction() != null ? Reduction.parse(s.ensembleReduction()) : o.reduction();
    int size = s.ensembleSize() != null ? s.ensembleSize() : o.ensembleSize();
    boolean unc = s.outputUncertainty() != null ? s.outputUncertainty() : o.outputUncertainty();
    o = o.withEnsemble(size, r, unc);
    DepthSettings d = o.depthEnsemble();
    o = o.withDepthEnsemble(new DepthSettings(
        s.ensembleRegularizerStrength() != null ? s.ensembleRegularizerStrength() : d.regularizerStrength(),
        s.ensembleMaxIter() != null ? s.ensembleMaxIter() : d.maxIter(),
        s.ensembleTol() != null ? s.ensembleTol() : d.tol(),
        s.ensembleMaxRes() != null ? s.ensembleMaxRes() : d.maxRes()));
    if (s.outputLatent() != null) o = o.withOutputLatent(s.outputLatent());
    return o;
  }

  @Override
  public DensePrediction predict(PilImage image, EstimatorSettings settings, NoiseSource noise) {
    return toDense(call(List.of(image), settings, noise), colorMap(settings));
  }

  /**
   * The images in one pipeline call, as diffusers takes a list of images: their N x E items go through the VAE and
   * the UNet in chunks of the batch size, with one draw of initial noise for all (so only the first image's draw is
   * the one a call of its own would make); each image's maps are then split out. The images must share a size.
   */
  @Override
  public List<DensePrediction> predictBatch(List<PilImage> images, EstimatorSettings settings, NoiseSource noise) {
    if (images.isEmpty()) return List.of();
    PilImage first = images.get(0);
    for (PilImage im : images) {
      if (im.width() != first.width() || im.height() != first.height()) {
        throw new IllegalArgumentException("the images of one batch must share a size: " + first.width() + "x"
            + first.height() + " and " + im.width() + "x" + im.height());
      }
    }
    MarigoldDiffusersPipeline.Output out = call(images, settings, noise);
    String cmap = colorMap(settings);
    int n = images.size();
    List<DensePrediction> result = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      result.add(toDense(new MarigoldDiffusersPipeline.Output(rows(out.prediction(), i, n),
          rows(out.uncertainty(), i, n), rows(out.latent(), i, n)), cmap));
    }
    return result;
  }

  /** Image {@code i}'s share of a batch output whose first dimension holds {@code n} images' rows in order. */
  private static Floats rows(Floats f, int i, int n) {
    if (f == null) return null;
    long[] shape = f.shape().clone();
    if (shape[0] % n != 0) throw new IllegalStateException("cannot split " + Arrays.toString(shape) + " into " + n);
    shape[0] /= n;
    int size = f.data().length / n;
    return new Floats(Arrays.copyOfRange(f.data(), i * size, (i + 1) * size), shape);
  }

  private String colorMap(EstimatorSettings settings) {
    return settings.colorMap() != null ? MarigoldVisuals.requireColorMap(settings.colorMap())
        : pipeline.task() == Task.INTRINSICS ? "binary" : "Spectral";
  }

  /** One pipeline call on the images (canonical form, one generator per call for a {@link GeneratorSeed}). */
  private MarigoldDiffusersPipeline.Output call(List<PilImage> images, EstimatorSettings settings,
      NoiseSource noise) {
    MarigoldDiffusersOptions o = options(settings);
    try (PointerScope scope = new PointerScope()) {
      List<Tensor> rgb = new ArrayList<>(images.size());
      for (PilImage image : images) {
        rgb.add(marigold4j.pipeline.diffusers.MarigoldImageProcessor.canonical(image.toRgbHwc(), "image"));
      }
      Tensor latents = settings.latents() == null ? null : Npy.toTensor(settings.latents());
      Generator gen = noise instanceof GeneratorSeed g ? F.generator(g.seed()) : null;
      MarigoldDiffusersPipeline.Randn randn;
      if (gen != null) {
        randn = shape -> F.randn(shape, gen, torch.ScalarType.Float);
      } else if (noise != null) {
        randn = noise::randn;
      } else {
        Device cpu = marigold4j.torch.Engine.device("cpu");
        randn = shape -> F.randn(shape, torch.ScalarType.Float, cpu);
      }
      try {
        return pipeline.predict(rgb, o, latents, randn);
      } finally {
        if (gen != null) gen.close();
      }
    }
  }

  @Override
  public long[] latentShape(int height, int width, EstimatorSettings settings) {
    return pipeline.latentShape(1, height, width, options(settings));
  }

  private DensePrediction toDense(MarigoldDiffusersPipeline.Output out, String cmap) {
    Floats p = out.prediction();
    Floats u = out.uncertainty();
    int h = (int) p.shape()[2];
    int w = (int) p.shape()[3];
    int plane = h * w;
    Map<Modality, Prediction> result = new LinkedHashMap<>();
    switch (pipeline.task()) {
      case DEPTH -> result.put(Modality.DEPTH, Prediction.of(Modality.DEPTH, h, w, p.data(),
          MarigoldVisuals.depth(p.data(), 0, 1, cmap), u == null ? null : u.data(), u == null ? null
              : new int[] {h, w}));
      case NORMALS -> result.put(Modality.NORMALS, Prediction.of(Modality.NORMALS, h, w, p.data(),
          MarigoldVisuals.normals(p.data(), h, w, false, false, false), u == null ? null : u.data(),
          u == null ? null : new int[] {h, w}));
      case INTRINSICS -> {
        List<IntrinsicTarget> targets = pipeline.targets();
        for (int i = 0; i < targets.size(); i++) {
          IntrinsicTarget t = targets.get(i);
          float[] v = Arrays.copyOfRange(p.data(), i * 3 * plane, (i + 1) * 3 * plane);
          float[] uv = u == null ? null : Arrays.copyOfRange(u.data(), i * 3 * plane, (i + 1) * 3 * plane);
          result.put(Modality.target(t.name(), 3), Prediction.of(Modality.target(t.name(), 3), h, w, v,
              MarigoldVisuals.intrinsicTarget(v, h, w, t.space(), t.upToScale()), uv,
              uv == null ? null : new int[] {3, h, w}));
          if (t.space() != PredictionSpace.STACK) continue;
          for (int c = 0; c < 3; c++) {
            String sub = t.subTargets().get(c);
            if (sub == null) continue;
            IntrinsicTarget prop = pipeline.property(sub);
            float[] sv = Arrays.copyOfRange(v, c * plane, (c + 1) * plane);
            float[] su = uv == null ? null : Arrays.copyOfRange(uv, c * plane, (c + 1) * plane);
            Modality m = Modality.target(sub, 1);
            result.put(m, Prediction.of(m, h, w, sv, MarigoldVisuals.intrinsicSubTarget(sv, prop.space(),
                prop.upToScale(), cmap), su, su == null ? null : new int[] {h, w}));
          }
        }
      }
    }
    Npy.Array latent = out.latent() == null ? null : Npy.Array.ofFloats(out.latent().data(), out.latent().shape());
    Map<Modality, Prediction> ordered = new LinkedHashMap<>();
    for (Modality m : maps) if (result.containsKey(m)) ordered.put(m, result.get(m));
    return new DensePrediction(ordered, DensePrediction.Convention.DIFFUSERS, latent);
  }

  /**
   * diffusers' visuals, as {@link #predict} gives them: {@code visualize_depth} over [0, 1], {@code visualize_normals},
   * {@code visualize_intrinsics} of a target or of one scalar property of a stack.
   */
  @Override
  public Prediction present(Modality m, int height, int width, float[] values, float[] uncertainty,
      EstimatorSettings settings) {
    String cmap = settings.colorMap() != null ? MarigoldVisuals.requireColorMap(settings.colorMap())
        : pipeline.task() == Task.INTRINSICS ? "binary" : "Spectral";
    byte[] colored;
    if (m == Modality.DEPTH) {
      colored = MarigoldVisuals.depth(values, 0, 1, cmap);
    } else if (m == Modality.NORMALS) {
      colored = MarigoldVisuals.normals(values, height, width, false, false, false);
    } else {
      IntrinsicTarget target = pipeline.targets().stream().filter(t -> t.name().equals(m.cliName())).findFirst()
          .orElse(null);
      if (target != null) {
        colored = MarigoldVisuals.intrinsicTarget(values, height, width, target.space(), target.upToScale());
      } else {
        IntrinsicTarget prop = pipeline.property(m.cliName());
        colored = MarigoldVisuals.intrinsicSubTarget(values, prop.space(), prop.upToScale(), cmap);
      }
    }
    return Prediction.of(m, height, width, values, colored, uncertainty,
        marigold4j.estimator.tiles.Visuals.uncertaintyShape(uncertainty, height, width));
  }

  /** The typed pipeline underneath, for callers of its own API. */
  public MarigoldDiffusersPipeline pipeline() {
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
