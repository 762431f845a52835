package marigold4j.video;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.image.PilImage;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;
import marigold4j.pipeline.Prediction;
import marigold4j.pipeline.diffusers.MarigoldVisuals;
import marigold4j.random.NoiseSource;

/**
 * A stand-in for an affine-invariant depth model that normalises every frame on its own: depth = a frame-dependent
 * scale and shift (drawn per call) of the image's luminance, plus a little per-pixel noise. On a static clip every
 * frame-to-frame change beyond the noise is the normalisation's, which temporal consistency should remove.
 */
final class AffineFlickerEstimator implements Estimator {
  private final Random random = new Random(11);

  @Override
  public String family() {
    return "affine-flicker";
  }

  @Override
  public List<Modality> maps() {
    return List.of(Modality.DEPTH);
  }

  @Override
  public EstimatorSettings defaults() {
    return EstimatorSettings.defaults();
  }

  @Override
  public NoiseSource seeded(long seed) {
    return null;
  }

  @Override
  public DensePrediction predict(PilImage image, EstimatorSettings settings, NoiseSource noise) {
    double scale = 0.5 + random.nextDouble();                 // in [0.5, 1.5)
    double shift = 0.4 * random.nextDouble() - 0.2;           // in [-0.2, 0.2)
    byte[] rgb = image.rgbPixels();
    float[] d = new float[image.width() * image.height()];
    for (int i = 0; i < d.length; i++) {
      double luminance = ((rgb[3 * i] & 0xff) + (rgb[3 * i + 1] & 0xff) + (rgb[3 * i + 2] & 0xff)) / (3 * 255.0);
      d[i] = (float) (scale * luminance + shift + 0.005 * random.nextGaussian());
    }
    return new DensePrediction(Map.of(Modality.DEPTH, Prediction.of(Modality.DEPTH, image.height(), image.width(), d,
        MarigoldVisuals.depth(d, -1, 2, "Spectral"), null, null)), DensePrediction.Convention.RUN_PY);
  }

  @Override
  public Precision precision() {
    return Precision.FP32;
  }

  @Override
  public Path checkpoint() {
    return Path.of("affine-flicker");
  }

  @Override
  public void close() {}
}
