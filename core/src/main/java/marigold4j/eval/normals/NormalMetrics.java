package marigold4j.eval.normals;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Arrays;

/**
 * DSINE's surface-normal metrics ({@code utils.compute_normal_metrics}) over a pooled vector of per-pixel angular
 * errors in degrees, with NumPy's arithmetic: {@code mean} and {@code median} are float32 results ({@code np.average}
 * sums float32 values pairwise in float32), {@code rmse} is {@code sqrt(float32 sum of squares / N)} in double, and
 * {@code a1..a5} are {@code 100 * count(e < t) / N} for t = 5, 7.5, 11.25, 22.5, 30 degrees (strict).
 *
 * @param numPixels the number of pooled errors N
 */
public record NormalMetrics(double mean, double median, double rmse, double a1, double a2, double a3, double a4,
    double a5, int numPixels) {

  /** The accuracy thresholds of {@code a1..a5}, in degrees. */
  public static final double[] THRESHOLDS = {5, 7.5, 11.25, 22.5, 30};

  /** The header line of {@code metrics.txt} and of the printed table. */
  public static final String HEADER = "mean median rmse 5 7.5 11.25 22.5 30";

  private static final int PAIRWISE_BLOCK = 128;

  /** Computes the metrics of the first {@code n} errors of {@code errors}. */
  public static NormalMetrics of(float[] errors, int n) {
    float[] e = Arrays.copyOf(errors, n);
    float sum = 0f + pairwiseSum(e, 0, n); // numpy starts the reduction from the identity 0
    float[] sq = new float[n];
    for (int i = 0; i < n; i++) sq[i] = e[i] * e[i];
    float sumSq = 0f + pairwiseSum(sq, 0, n);
    long[] counts = new long[THRESHOLDS.length];
    for (float v : e) {
      for (int t = 0; t < THRESHOLDS.length; t++) if (v < THRESHOLDS[t]) counts[t]++;
    }
    double[] a = new double[THRESHOLDS.length];
    for (int t = 0; t < a.length; t++) a[t] = 100.0 * ((double) counts[t] / n);
    return new NormalMetrics((float) ((double) sum / n), median(e), Math.sqrt((double) sumSq / n),
        a[0], a[1], a[2], a[3], a[4], n);
  }

  /** {@code np.median} of float32 values: the middle value, or the float32 mean of the two middle values. */
  static float median(float[] values) {
    int n = values.length;
    if (n == 0) return Float.NaN;
    float[] s = values.clone();
    Arrays.sort(s);
    if (Float.isNaN(s[n - 1])) return Float.NaN; // numpy propagates NaN (Arrays.sort puts NaNs last)
    if (n % 2 == 1) return s[n / 2];
    return (0f + s[n / 2 - 1] + s[n / 2]) / 2f;
  }

  /**
   * NumPy's pairwise summation of float32 values (float32 accumulators): blocks of up to 128 values are summed with 8
   * interleaved partial sums, larger ranges are split in halves rounded down to a multiple of 8.
   */
  static float pairwiseSum(float[] a, int start, int n) {
    if (n < 8) {
      float res = 0f;
      for (int i = 0; i < n; i++) res += a[start + i];
      return res;
    } else if (n <= PAIRWISE_BLOCK) {
      float[] r = new float[8];
      for (int j = 0; j < 8; j++) r[j] = a[start + j];
      int i;
      for (i = 8; i < n - (n % 8); i += 8) {
        for (int j = 0; j < 8; j++) r[j] += a[start + i + j];
      }
      float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
      for (; i < n; i++) res += a[start + i];
      return res;
    } else {
      int n2 = n / 2;
      n2 -= n2 % 8;
      return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
    }
  }

  /** The eight values in {@code metrics.txt} order. */
  public double[] values() {
    return new double[] {mean, median, rmse, a1, a2, a3, a4, a5};
  }

  /** The values line: each value as Python's {@code "%.3f"} prints it, space separated. */
  public String valuesLine() {
    StringBuilder sb = new StringBuilder();
    for (double v : values()) {
      if (sb.length() > 0) sb.append(' ');
      sb.append(format3(v));
    }
    return sb.toString();
  }

  /** The content of DSINE's {@code metrics.txt} after {@code iterations} images (with its trailing newline). */
  public String metricsText(int iterations) {
    return "Normal Estimation Metrics:\n" + "Metrics at iteration " + iterations + "\n" + HEADER + "\n" + valuesLine()
        + "\n";
  }

  /**
   * C's / Python's {@code "%.3f"}: the exact binary value rounded half-to-even (Java's {@code String.format} rounds the
   * shortest decimal representation half-up instead, which differs for values like 1.0005).
   */
  static String format3(double v) {
    if (Double.isNaN(v)) return "nan";
    if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
    String s = new BigDecimal(v).setScale(3, RoundingMode.HALF_EVEN).toPlainString();
    return (v < 0 || (v == 0 && 1 / v < 0)) && !s.startsWith("-") ? "-" + s : s;
  }
}
