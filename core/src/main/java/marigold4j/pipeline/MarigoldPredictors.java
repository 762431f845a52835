package marigold4j.pipeline;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import marigold4j.eval.depth.DepthPredictor;
import marigold4j.eval.depth.InferenceSettings;
import marigold4j.eval.normals.DsineEvalSettings;
import marigold4j.eval.normals.NormalFrame;
import marigold4j.eval.normals.NormalMap;
import marigold4j.eval.normals.NormalsPredictor;
import marigold4j.eval.normals.Rgb8Image;
import marigold4j.hub.Checkpoints;
import marigold4j.image.Resize.Interpolation;
import marigold4j.random.NoiseSource;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * The Marigold pipeline behind the evaluation protocols' inference seams: {@code eval depth --checkpoint} (the
 * original's {@code infer.py}) and {@code eval normals --checkpoint} (the DSINE test with the E2E-FT settings).
 */
public final class MarigoldPredictors {
  private MarigoldPredictors() {}

  /** A depth predictor for a checkpoint folder or Hub id; seeded once, as infer.py seeds once per run. */
  public static DepthPredictor depth(String checkpoint, InferenceSettings first) {
    requireMarigold(first.modelType());
    MarigoldPipeline pipe = open(checkpoint, first.halfPrecision());
    NoiseSource noise = MarigoldPipeline.seedLikeRunPy(first.seed());
    return new DepthPredictor() {
      @Override
      public DepthMap predict(BufferedImage rgb, InferenceSettings s) {
        MarigoldOptions o = options(Modality.DEPTH, s.denoiseSteps(), s.ensembleSize(), s.processingRes(),
            !s.outputProcessingRes(), s.resampleMethod(), s.noise(), s.timestepSpacing());
        Prediction p = pipe.predict(rgb, o, noise);
        return new DepthMap(p.height(), p.width(), p.values());
      }

      @Override
      public void close() {
        pipe.close();
      }
    };
  }

  /** A normals predictor for the DSINE benchmark (Marigold normals output is in the LUB frame). */
  public static NormalsPredictor normals(DsineEvalSettings s) {
    requireMarigold(s.modelType());
    MarigoldPipeline pipe = open(s.checkpoint(), false);
    NoiseSource noise = MarigoldPipeline.seedLikeRunPy(s.seed() == null ? 0 : s.seed());
    MarigoldOptions o = options(Modality.NORMALS, s.denoiseSteps(), s.ensembleSize(), s.processingRes(), true,
        s.resampleMethod(), s.noise(), s.timestepSpacing());
    return new NormalsPredictor() {
      @Override
      public NormalFrame frame() {
        return NormalFrame.LUB;
      }

      @Override
      public NormalMap predict(Rgb8Image image) {
        try (PointerScope scope = new PointerScope()) {
          Tensor chw = Tensors.fromBytes(image.hwc(), image.height(), image.width(), 3).permute(2, 0, 1)
              .contiguous();
          Prediction p = pipe.predict(chw, o, noise);
          return new NormalMap(p.height(), p.width(), p.values());
        }
      }

      @Override
      public void close() {
        pipe.close();
      }
    };
  }

  private static MarigoldPipeline open(String checkpoint, boolean half) {
    Path dir = Checkpoints.resolve(checkpoint);
    return MarigoldPipeline.load(dir, half ? Precision.BF16 : Precision.FP32, "cpu");
  }

  private static MarigoldOptions options(Modality m, int steps, int ensemble, int res, boolean match,
      String resample, String noise, String spacing) {
    return new MarigoldOptions(steps, ensemble, res, match, Interpolation.fromMarigoldName(resample), 0,
        "Spectral", NoiseType.parse(noise), m, TimestepSpacing.parse(spacing));
  }

  private static void requireMarigold(String modelType) {
    if (modelType != null && !modelType.equalsIgnoreCase("marigold")) {
      throw new IllegalArgumentException("model type '" + modelType + "': evaluation inference supports Marigold "
          + "checkpoints; run GeoWizard with `predict` and evaluate its saved predictions with --predictions");
    }
  }
}
