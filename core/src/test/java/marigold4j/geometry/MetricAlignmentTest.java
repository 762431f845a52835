package marigold4j.geometry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Scale-and-shift fits against closed forms on synthetic data with a known s, t. */
class MetricAlignmentTest {
  static final int H = 60;
  static final int W = 80;

  private static float[] prediction(long seed) {
    Random r = new Random(seed);
    float[] d = new float[H * W];
    for (int i = 0; i < d.length; i++) d[i] = 0.05f + 0.9f * r.nextFloat();
    return d;
  }

  @Test
  void recoversAKnownScaleAndShiftExactlyInDepthSpace() {
    float[] d = prediction(1);
    float[] m = new float[d.length];
    for (int i = 0; i < d.length; i++) m[i] = i % 7 == 0 ? (float) (3.5 * d[i] + 0.8) : 0f;   // sparse reference
    MetricAlignment.Fit f = MetricAlignment.fit(d, m, H, W, MetricAlignment.Space.DEPTH, false, "ref");
    assertThat(f.scale()).isCloseTo(3.5, within(1e-5));
    assertThat(f.shift()).isCloseTo(0.8, within(1e-5));
    assertThat(f.points()).isEqualTo((d.length + 6) / 7);
    assertThat(f.rmseM()).isLessThan(1e-5);
  }

  @Test
  void recoversAKnownScaleAndShiftExactlyInDisparitySpace() {
    float[] d = prediction(2);
    float[] m = new float[d.length];
    for (int i = 0; i < d.length; i++) m[i] = (float) (1 / (2.0 * d[i] + 0.1));
    MetricAlignment.Fit f = MetricAlignment.fit(d, m, H, W, MetricAlignment.Space.DISPARITY, false, "ref");
    assertThat(f.scale()).isCloseTo(2.0, within(1e-5));
    assertThat(f.shift()).isCloseTo(0.1, within(1e-5));
    float[] metric = MetricAlignment.apply(d, f, "ref");
    for (int i = 0; i < d.length; i += 97) assertThat(metric[i]).isCloseTo(m[i], within(1e-4f * m[i]));
  }

  /** The normal equations of min sum (s d + t - m)^2, solved independently in float64. */
  @Test
  void plainFitEqualsTheClosedFormLeastSquaresSolutionUnderNoise() {
    float[] d = prediction(3);
    float[] m = new float[d.length];
    Random r = new Random(4);
    for (int i = 0; i < d.length; i++) m[i] = (float) (5 * d[i] + 1 + 0.05 * r.nextGaussian());
    double n = 0, sd = 0, sm = 0, sdd = 0, sdm = 0;
    for (int i = 0; i < d.length; i++) {
      n++;
      sd += d[i];
      sm += m[i];
      sdd += (double) d[i] * d[i];
      sdm += (double) d[i] * m[i];
    }
    double det = n * sdd - sd * sd;
    double s = (n * sdm - sd * sm) / det;
    double t = (sdd * sm - sd * sdm) / det;
    MetricAlignment.Fit f = MetricAlignment.fit(d, m, H, W, MetricAlignment.Space.DEPTH, false, "ref");
    assertThat(f.scale()).isCloseTo(s, within(1e-9));
    assertThat(f.shift()).isCloseTo(t, within(1e-9));
    assertThat(f.scale()).isCloseTo(5, within(0.02));   // bounded by the noise: 0.05 / sqrt(4800) / std(d) scale
    assertThat(f.shift()).isCloseTo(1, within(0.01));
    assertThat(f.rmseM()).isCloseTo(0.05, within(0.005));
  }

  @Test
  void robustFitIgnoresGrossOutliersThatBiasThePlainFit() {
    float[] d = prediction(5);
    float[] m = new float[d.length];
    Random r = new Random(6);
    for (int i = 0; i < d.length; i++) {
      m[i] = (float) (4 * d[i] + 0.5 + 0.01 * r.nextGaussian());
      if (r.nextDouble() < 0.2) m[i] = (float) (20 + 30 * r.nextDouble());  // 20 % sensor garbage
    }
    MetricAlignment.Fit plain = MetricAlignment.fit(d, m, H, W, MetricAlignment.Space.DEPTH, false, "ref");
    MetricAlignment.Fit robust = MetricAlignment.fit(d, m, H, W, MetricAlignment.Space.DEPTH, true, "ref");
    double plainError = Math.abs(plain.scale() - 4) + Math.abs(plain.shift() - 0.5);
    double robustError = Math.abs(robust.scale() - 4) + Math.abs(robust.shift() - 0.5);
    assertThat(plainError).as("plain LS is pulled by the outliers").isGreaterThan(1);
    assertThat(robust.scale()).isCloseTo(4, within(0.01));
    assertThat(robust.shift()).isCloseTo(0.5, within(0.01));
    assertThat(robustError).isLessThan(plainError / 100);
    assertThat(robust.method()).isEqualTo("irls_huber_tukey");
    assertThat(robust.inliers()).isBetween((long) (0.75 * d.length), (long) (0.85 * d.length));
  }

  @Test
  void tooFewPointsNameTheFile() {
    float[] d = prediction(7);
    float[] m = new float[d.length];
    for (int i = 0; i < 5; i++) m[i * 10] = 1f;
    m[1] = Float.NaN;
    assertThatThrownBy(() -> MetricAlignment.fit(d, m, H, W, MetricAlignment.Space.DEPTH, false, "scan.npy"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scan.npy")
        .hasMessageContaining("only 5 valid");
  }

  @Test
  void aResultWithoutPositiveDepthIsAnError() {
    float[] d = prediction(8);
    MetricAlignment.Fit f = new MetricAlignment.Fit(-1, -1, MetricAlignment.Space.DEPTH, 10, 10, 0, 0, "x");
    assertThatThrownBy(() -> MetricAlignment.apply(d, f, "r.npy")).hasMessageContaining("r.npy")
        .hasMessageContaining("no positive depth");
  }
}
