package marigold4j.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.Random;
import marigold4j.image.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The alignment equations, the flicker figure and the streamed stack, on synthetic data. */
class TemporalAlignmentTest {
  @TempDir Path tmp;

  private static float[] random(int n, long seed) {
    Random r = new Random(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = r.nextFloat();
    return x;
  }

  @Test
  void leastSquaresRecoversAKnownScaleAndShift() {
    float[] x = random(96 * 64, 1);
    for (double[] st : new double[][] {{2.5, -0.75}, {0.3, 4.0}, {-1.2, 0.5}, {1.0, 0.0}}) {
      float[] y = TemporalAlignment.apply(x, st[0], st[1]);
      double[] fit = TemporalAlignment.fit(x, y);
      assertThat(fit[0]).as("scale").isCloseTo(st[0], within(1e-5));
      assertThat(fit[1]).as("shift").isCloseTo(st[1], within(1e-5));
    }
  }

  @Test
  void symmetricFitRecoversAKnownScaleAndShift() {
    float[] x = random(96 * 64, 1);
    for (double[] st : new double[][] {{2.5, -0.75}, {0.3, 4.0}, {-1.2, 0.5}}) {
      double[] fit = TemporalAlignment.fit(x, TemporalAlignment.apply(x, st[0], st[1]),
          TemporalAlignment.Method.SYMMETRIC);
      assertThat(fit[0]).as("scale").isCloseTo(st[0], within(1e-5));
      assertThat(fit[1]).as("shift").isCloseTo(st[1], within(1e-5));
    }
  }

  @Test
  void leastSquaresChainsShrinkANoisyClipAndTheSymmetricFitKeepsItsSpread() {
    // 50 frames of one scene with independent noise (correlation ~0.9 between frames): least squares multiplies the
    // aligned depth's spread by about the correlation at every frame; the symmetric fit keeps frame 0's spread
    float[] scene = random(4000, 6);
    Random r = new Random(7);
    float[][] frames = new float[50][];
    for (int t = 0; t < 50; t++) {
      frames[t] = new float[scene.length];
      for (int i = 0; i < scene.length; i++) frames[t][i] = scene[i] + (float) (0.1 * r.nextGaussian());
    }
    double std0 = std(frames[0]);
    for (TemporalAlignment.Method m : TemporalAlignment.Method.values()) {
      float[] previous = frames[0];
      for (int t = 1; t < 50; t++) {
        double[] st = TemporalAlignment.fit(frames[t], previous, m);
        previous = TemporalAlignment.apply(frames[t], st[0], st[1]);
      }
      double ratio = std(previous) / std0;
      if (m == TemporalAlignment.Method.LEAST_SQUARES) {
        assertThat(ratio).as("least-squares spread after 50 frames").isLessThan(0.1);
      } else {
        assertThat(ratio).as("symmetric spread after 50 frames").isCloseTo(1.0, within(1e-4));
      }
    }
    assertThat(TemporalAlignment.Method.parse("symmetric")).isEqualTo(TemporalAlignment.Method.SYMMETRIC);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> TemporalAlignment.Method.parse("median"))
        .hasMessageContaining("--temporal-alignment");
  }

  private static double std(float[] v) {
    double m = mean(v);
    double s = 0;
    for (float f : v) s += (f - m) * (f - m);
    return Math.sqrt(s / v.length);
  }

  @Test
  void fitIsTheLeastSquaresMinimum() {
    float[] x = random(500, 2);
    float[] y = random(500, 3);                                   // unrelated: the fit is a compromise
    for (int i = 0; i < y.length; i++) y[i] += 0.5f * x[i];
    double[] fit = TemporalAlignment.fit(x, y);
    double best = sse(x, y, fit[0], fit[1]);
    for (double ds : new double[] {-1e-3, 1e-3}) {
      assertThat(sse(x, y, fit[0] + ds, fit[1])).isGreaterThan(best);
      assertThat(sse(x, y, fit[0], fit[1] + ds)).isGreaterThan(best);
    }
  }

  private static double sse(float[] x, float[] y, double s, double t) {
    double e = 0;
    for (int i = 0; i < x.length; i++) e += Math.pow(s * x[i] + t - y[i], 2);
    return e;
  }

  @Test
  void constantFrameIsShiftedOntoTheMean() {
    float[] x = new float[10];
    java.util.Arrays.fill(x, 3f);
    double[] fit = TemporalAlignment.fit(x, random(10, 4));
    assertThat(fit[0]).isEqualTo(1.0);
    assertThat(3 + fit[1]).isCloseTo(mean(random(10, 4)), within(1e-6));
  }

  private static double mean(float[] v) {
    double s = 0;
    for (float f : v) s += f;
    return s / v.length;
  }

  @Test
  void chainedAlignmentUndoesPerFrameNormalisation() {
    // one static scene, each frame min-max normalised on its own with a different (known) affine map, as a model
    // normalising every frame does: aligned to the first frame, every frame is the first frame again
    float[] scene = random(1000, 5);
    float[] previous = null;
    Flicker raw = new Flicker();
    Flicker aligned = new Flicker();
    for (int t = 0; t < 8; t++) {
      float[] frame = TemporalAlignment.apply(scene, 1 + 0.1 * t, 0.05 * (t % 3));
      raw.add(frame);
      float[] a = previous == null ? frame : TemporalAlignment.apply(frame,
          TemporalAlignment.fit(frame, previous)[0], TemporalAlignment.fit(frame, previous)[1]);
      aligned.add(a);
      if (previous != null) {
        for (int i = 0; i < a.length; i++) assertThat(a[i]).isCloseTo(previous[i], within(1e-5f));
      }
      previous = a;
    }
    assertThat(aligned.value()).isLessThan(1e-5);
    assertThat(raw.value()).isGreaterThan(0.01);
  }

  @Test
  void flickerIsTheMeanAbsoluteChangeOverTheEarlierFramesRange() {
    Flicker f = new Flicker();
    f.add(new float[] {0, 1, 2, 4});                            // range 4
    f.add(new float[] {1, 1, 2, 4});                            // change 1/4 per pixel -> 0.25 / 4
    f.add(new float[] {1, 1, 2, 4});                            // no change
    assertThat(f.pairs()).isEqualTo(2);
    assertThat(f.value()).isCloseTo((0.25 / 4 + 0) / 2, within(1e-12));
    Flicker scaled = new Flicker();                              // invariant to one affine map of the whole clip
    scaled.add(new float[] {5, 8, 11, 17});
    scaled.add(new float[] {8, 8, 11, 17});
    scaled.add(new float[] {8, 8, 11, 17});
    assertThat(scaled.value()).isCloseTo(f.value(), within(1e-12));
    assertThat(new Flicker().value()).isNaN();
  }

  @Test
  void stackIsWrittenFrameByFrameWithTheFinalCountInItsHeader() {
    Path file = tmp.resolve("s.npy");
    try (NpyStackWriter w = new NpyStackWriter(file, 2, 3)) {
      for (int t = 0; t < 5; t++) {
        float[] v = new float[6];
        for (int i = 0; i < 6; i++) v[i] = t * 10 + i;
        w.append(v);
      }
      assertThat(w.read(3)).containsExactly(30, 31, 32, 33, 34, 35);
    }
    Npy.Array a = Npy.read(file);
    assertThat(a.dtype()).isEqualTo(Npy.DType.F4);
    assertThat(a.shape()).containsExactly(5, 2, 3);
    assertThat(a.toFloats()[4 * 6 + 5]).isEqualTo(45f);
    assertThat(tmp.toFile().list()).containsExactly("s.npy");
    try (NpyStackWriter w = new NpyStackWriter(tmp.resolve("empty.npy"), 2, 3)) {
      assertThat(w.frames()).isZero();
    }
    assertThat(tmp.toFile().list()).as("no frame, no file").containsExactly("s.npy");
  }
}
