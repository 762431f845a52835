package marigold4j.estimator.tiles;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.estimator.Estimators;
import marigold4j.image.ImageInput;
import marigold4j.image.PilImage;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;
import marigold4j.pipeline.Precision;
import marigold4j.pipeline.Prediction;
import marigold4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Tiling with every family's tiny checkpoint (Marigold run.py, GeoWizard, diffusers depth and intrinsics, Lotus): a
 * one-tile grid reproduces the untiled prediction, and a tiled call gives every map at the input's native size, with
 * the family's visualisation.
 */
class TilingFamiliesTest {
  private static final Path PHOTO = Golden.fixtures().resolve("images/photo_coco_cats_128x96.png");
  /** A greyscale (mode L) image: the one-tile cases, at its native 64 px. */
  private static final Path GRAY = Golden.fixtures().resolve("images/synthetic_gray_64x48.png");

  private static Estimator load(String checkpoint) {
    Path dir = Golden.fixtures().resolve("checkpoints/" + checkpoint);
    return Estimators.load(dir, Estimators.detect(dir, checkpoint), Precision.FP32, "cpu");
  }

  /**
   * Noise that gives every call the same draws: diffusers' seeded source (a generator seeded per call), zero draws
   * for Lotus (its VAE sample is then the posterior's mean), none elsewhere (zeros noise).
   */
  private static marigold4j.random.NoiseSource noise(Estimator e) {
    if (e.family().startsWith("marigold-")) return e.seeded(3);
    return e.family().equals("lotus") ? new ZeroNoise() : null;
  }

  /** Draws of zeros. */
  private static final class ZeroNoise implements marigold4j.random.NoiseSource {
    @Override
    public org.bytedeco.pytorch.Tensor randnLike(org.bytedeco.pytorch.Tensor x) {
      return randn(marigold4j.torch.Tensors.shape(x));
    }

    @Override
    public org.bytedeco.pytorch.Tensor randn(long... shape) {
      long n = 1;
      for (long d : shape) n *= d;
      return marigold4j.torch.Tensors.fromFloats(new float[(int) n], shape);
    }

    @Override
    public double random() {
      return 0.5;
    }
  }

  /** Deterministic settings: one step, zeros noise where the family takes it (a fresh seed per diffusers call). */
  private static EstimatorSettings settings(Estimator e, int processingRes) {
    EstimatorSettings.Builder b = EstimatorSettings.builder().processingRes(processingRes).denoisingSteps(
        e.family().equals("lotus") ? null : 1);
    if (e.family().equals("marigold") || e.family().equals("geowizard")) b.noise(NoiseType.ZEROS);
    return b.build();
  }

  /**
   * The one tile is the whole image at its native size, and so is the global prediction: the tiler's crop, alignment
   * (scale 1, shift 0 up to rounding), weights and presentation must give the untiled values back. Tolerance 1e-5.
   */
  @ParameterizedTest
  @ValueSource(strings = {"tiny-marigold-depth", "tiny-marigold-normals", "tiny-geowizard",
      "tiny-marigold-v11-depth", "tiny-marigold-iid-appearance", "tiny-lotus-depth-d", "tiny-lotus-normal-d"})
  void aGridOfOneTileReproducesTheUntiledPrediction(String checkpoint) {
    try (Estimator e = load(checkpoint); PointerScope scope = new PointerScope()) {
      PilImage image = ImageInput.read(GRAY);
      EstimatorSettings s = settings(e, 64);
      DensePrediction untiled = e.predict(image, s, noise(e));
      DensePrediction tiled = Tiling.standard().run(e, image, s, noise(e), new TileGrid(64, 48, 64, 16),
          Tiling.Listener.NONE);
      assertThat(tiled.names()).isEqualTo(untiled.names());
      for (Modality m : untiled.names()) {
        Prediction a = untiled.map(m);
        Prediction b = tiled.map(m);
        assertThat(b.shape()).isEqualTo(a.shape());
        assertThat(TilingTest.maxAbsDiff(b.values(), a.values())).as(m.cliName()).isLessThan(1e-5);
        assertThat(b.coloredRgb() == null).isEqualTo(a.coloredRgb() == null);
        if (a.uncertainty() != null) {
          assertThat(TilingTest.maxAbsDiff(b.uncertainty(), a.uncertainty())).isLessThan(1e-5);
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"tiny-marigold-normals", "tiny-geowizard", "tiny-marigold-v11-depth",
      "tiny-marigold-iid-appearance", "tiny-lotus-depth-g", "tiny-lotus-normal-d"})
  void tilesGiveEveryMapAtTheNativeResolution(String checkpoint) {
    try (Estimator e = load(checkpoint); PointerScope scope = new PointerScope()) {
      PilImage image = ImageInput.read(PHOTO);
      EstimatorSettings s = settings(e, 64).toBuilder().tiles(new TileSettings(64, 16)).build();
      int[] tiles = new int[2];
      DensePrediction p = Tiling.predict(e, image, s, e.seeded(3), new Tiling.Listener() {
        @Override
        public void start(TileGrid grid) {
          tiles[0] = grid.count();
        }

        @Override
        public void tileDone() {
          tiles[1]++;
        }
      });
      assertThat(tiles).containsExactly(6, 6);                 // 3 x 2 tiles of 64 over 128 x 96
      DensePrediction untiled = e.predict(image, settings(e, 64), e.seeded(3));
      assertThat(p.names()).isEqualTo(untiled.names());
      for (Modality m : p.names()) {
        Prediction t = p.map(m);
        assertThat(t.width()).isEqualTo(128);
        assertThat(t.height()).isEqualTo(96);
        assertThat(t.coloredRgb() == null).isEqualTo(untiled.map(m).coloredRgb() == null);
        if (t.coloredRgb() != null) assertThat(t.coloredRgb()).hasSize(3 * 128 * 96);
        double untiledUnitError = m != Modality.NORMALS ? 1
            : unitError(untiled.map(m).values(), untiled.map(m).width() * untiled.map(m).height());
        if (untiledUnitError < 1e-2) {
          // unit normals stay unit vectors (up to the family's own rounding and clamping); Lotus' normals are its
          // decoded image, not unit vectors, and keep their blended lengths
          assertThat(unitError(t.values(), 128 * 96)).isLessThanOrEqualTo(untiledUnitError + 1e-5);
        }
      }
    }
  }

  /**
   * An ensemble of 2 with its uncertainty, per tile: one tile reproduces the untiled map and uncertainty (1e-5), and a
   * grid of tiles gives a native-size, non-negative uncertainty.
   */
  @org.junit.jupiter.api.Test
  void anEnsembleRunsPerTileAndItsUncertaintyIsBlended() {
    try (Estimator e = load("tiny-marigold-v11-depth"); PointerScope scope = new PointerScope()) {
      EstimatorSettings s = settings(e, 64).toBuilder().ensembleSize(2).outputUncertainty(true).build();
      PilImage gray = ImageInput.read(GRAY);
      Prediction untiled = e.predict(gray, s, noise(e)).map(Modality.DEPTH);
      Prediction one = Tiling.standard().run(e, gray, s, noise(e), new TileGrid(64, 48, 64, 16),
          Tiling.Listener.NONE).map(Modality.DEPTH);
      assertThat(TilingTest.maxAbsDiff(one.values(), untiled.values())).isLessThan(1e-5);
      assertThat(TilingTest.maxAbsDiff(one.uncertainty(), untiled.uncertainty())).isLessThan(1e-5);
      PilImage image = ImageInput.read(PHOTO);
      Prediction d = Tiling.predict(e, image, s.toBuilder().tiles(new TileSettings(64, 16)).build(), noise(e))
          .map(Modality.DEPTH);
      assertThat(d.uncertaintyShape()).containsExactly(96, 128);
      double sum = 0;
      for (float x : d.uncertainty()) {
        assertThat(x).isGreaterThanOrEqualTo(0f);
        sum += x;
      }
      assertThat(sum).isFinite();
    }
  }

  /** The largest | |n| - 1 | of a (3, H, W) map. */
  private static double unitError(float[] chw, int plane) {
    double worst = 0;
    for (int i = 0; i < plane; i++) {
      double len = Math.sqrt(chw[i] * chw[i] + chw[plane + i] * chw[plane + i]
          + chw[2 * plane + i] * chw[2 * plane + i]);
      worst = Math.max(worst, Math.abs(len - 1));
    }
    return worst;
  }
}
