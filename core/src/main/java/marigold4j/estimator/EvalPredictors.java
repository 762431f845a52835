package marigold4j.estimator;

import java.awt.image.BufferedImage;
import marigold4j.eval.depth.DepthPredictor;
import marigold4j.eval.depth.InferenceSettings;
import marigold4j.eval.normals.DsineEvalSettings;
import marigold4j.eval.normals.NormalFrame;
import marigold4j.eval.normals.NormalMap;
import marigold4j.eval.normals.NormalsPredictor;
import marigold4j.eval.normals.Rgb8Image;
import marigold4j.hub.Checkpoints;
import marigold4j.image.PilImage;
import marigold4j.image.Resize.Interpolation;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;
import marigold4j.pipeline.Precision;
import marigold4j.pipeline.Prediction;
import marigold4j.random.NoiseSource;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;
import org.bytedeco.javacpp.PointerScope;

/**
 * Estimators behind the evaluation protocols' inference seams: {@code eval depth --checkpoint} (the original's
 * {@code infer.py}) and {@code eval normals --checkpoint} (the DSINE test with the E2E-FT settings). Any family whose
 * checkpoint produces the evaluated map can be evaluated, on any device.
 */
public final class EvalPredictors {
  private EvalPredictors() {}

  /** The family whose evaluation settings differ from E2E-FT's infer.py: diffusers' Marigold v1.1 checkpoints. */
  static final String DIFFUSERS_FAMILY = "marigold-diffusers";

  /**
   * The evaluation settings of the checkpoint's family over {@code base} (E2E-FT's infer.py): diffusers' Marigold
   * checkpoints (v1.1) are evaluated as prs-eth's v1.1 scripts do, 1 denoising step and an ensemble of 10.
   */
  public static InferenceSettings evalDefaults(String checkpoint, InferenceSettings base) {
    java.nio.file.Path dir = Checkpoints.resolve(checkpoint);
    Detection d = Estimators.detect(dir, checkpoint);
    if (d.family().name().equals(DIFFUSERS_FAMILY)) return base.withInference(1, 10, DIFFUSERS_FAMILY);
    // single-step families (Lotus) and GeoWizard: infer.py's one step, no ensemble, under their own model type
    if (!d.family().name().equals("marigold")) return base.withInference(1, 1, d.family().name());
    return base;
  }

  /** The family name of a checkpoint folder or Hub id, as {@code model_type} records it. */
  public static String familyName(String checkpoint) {
    return Estimators.detect(Checkpoints.resolve(checkpoint), checkpoint).family().name();
  }

  /**
   * One generator for a whole run, as prs-eth's v1.1 {@code infer.py} seeds a {@code torch.Generator} once and passes
   * it to every call.
   */
  static NoiseSource runGenerator(long seed) {
    org.bytedeco.pytorch.Generator gen = marigold4j.torch.F.generator(seed);
    return new NoiseSource() {
      @Override
      public org.bytedeco.pytorch.Tensor randnLike(org.bytedeco.pytorch.Tensor x) {
        throw new UnsupportedOperationException("randn_like");
      }

      @Override
      public org.bytedeco.pytorch.Tensor randn(long... shape) {
        return marigold4j.torch.F.randn(shape, gen, org.bytedeco.pytorch.global.torch.ScalarType.Float);
      }

      @Override
      public double random() {
        throw new UnsupportedOperationException("random");
      }
    };
  }

  /** A depth predictor for a checkpoint folder or Hub id; seeded once, as infer.py seeds once per run. */
  public static DepthPredictor depth(String checkpoint, InferenceSettings first, String device) {
    Estimator e = open(checkpoint, first.modelType(), Modality.DEPTH,
        first.halfPrecision() ? Precision.half(marigold4j.torch.Engine.device(device)) : Precision.FP32, device);
    NoiseSource noise = e.family().equals(DIFFUSERS_FAMILY) ? runGenerator(first.seed()) : e.seeded(first.seed());
    return new DepthPredictor() {
      @Override
      public DepthMap predict(BufferedImage rgb, InferenceSettings s) {
        try (PointerScope scope = new PointerScope()) {
          Prediction p = e.predict(PilImage.fromBufferedImage(rgb), settings(s.denoiseSteps(), s.ensembleSize(),
              s.processingRes(), !s.outputProcessingRes(), s.resampleMethod(), s.noise(), s.timestepSpacing(),
              s.domain()), noise).map(Modality.DEPTH);
          return new DepthMap(p.height(), p.width(), p.values());
        }
      }

      @Override
      public void close() {
        e.close();
      }
    };
  }

  /** A normals predictor for the DSINE benchmark (Marigold's normals are in the LUB frame). */
  public static NormalsPredictor normals(DsineEvalSettings s, String device) {
    Estimator e = open(s.checkpoint(), s.modelType(), Modality.NORMALS, Precision.FP32, device);
    NoiseSource noise = e.seeded(s.seed() == null ? 0 : s.seed());
    EstimatorSettings settings = settings(s.denoiseSteps(), s.ensembleSize(), s.processingRes(), true,
        s.resampleMethod(), s.noise(), s.timestepSpacing(), s.domain());
    return new NormalsPredictor() {
      @Override
      public NormalFrame frame() {
        return NormalFrame.LUB;
      }

      @Override
      public NormalMap predict(Rgb8Image image) {
        try (PointerScope scope = new PointerScope()) {
          PilImage pil = new PilImage(PilImage.Mode.RGB, image.width(), image.height(), image.hwc());
          Prediction p = e.predict(pil, settings, noise).map(Modality.NORMALS);
          return new NormalMap(p.height(), p.width(), p.values());
        }
      }

      @Override
      public void close() {
        e.close();
      }
    };
  }

  /** Loads the checkpoint, checking that it produces {@code map} and is of the {@code modelType} asked for. */
  private static Estimator open(String checkpoint, String modelType, Modality map, Precision precision,
      String device) {
    java.nio.file.Path dir = Checkpoints.resolve(checkpoint);
    Detection d = Estimators.detect(dir, checkpoint);
    if (modelType != null && !modelType.equalsIgnoreCase(d.family().name())) {
      throw new IllegalArgumentException(checkpoint + " is a " + d.family().name() + " checkpoint ("
          + d.evidence() + "), not model type '" + modelType + "'");
    }
    if (!d.maps().contains(map)) {
      throw new IllegalArgumentException(checkpoint + " predicts " + d.maps().stream().map(Modality::cliName)
          .toList() + " (" + d.evidence() + "), not " + map.cliName());
    }
    return Estimators.load(dir, d, precision, device);
  }

  /**
   * Evaluation settings, every value given (no checkpoint default applies); {@code resample} in the scripts' spelling,
   * read as PIL's filter by run.py's families and as torch's mode by diffusers'.
   */
  private static EstimatorSettings settings(int steps, int ensemble, int res, boolean match, String resample,
      NoiseType noise, TimestepSpacing spacing, Domain domain) {
    return EstimatorSettings.builder().denoisingSteps(steps).ensembleSize(ensemble).processingRes(res)
        .matchInputRes(match).resample(Interpolation.fromMarigoldName(resample)).batchSize(0).colorMap("Spectral")
        .resampleInput(Interpolation.fromTorchName(resample)).resampleOutput(Interpolation.fromTorchName(resample))
        .noise(noise).timestepSpacing(spacing).domain(domain).build();
  }
}
