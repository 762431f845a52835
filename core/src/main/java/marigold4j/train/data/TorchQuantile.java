package marigold4j.train.data;

import java.util.Arrays;

/**
 * {@code torch.quantile(x, q)} (linear interpolation) on float32 data, reproduced bit for bit: the rank
 * {@code q * (n - 1)} in float32 and torch's {@code lerp}, which is a single fused multiply-add.
 */
public final class TorchQuantile {
  private TorchQuantile() {}

  /**
   * The q-quantile of {@code values} (not modified).
   *
   * @throws IllegalArgumentException for an empty array or q outside [0, 1]
   */
  public static float quantile(float[] values, double q) {
    float[] sorted = values.clone();
    Arrays.sort(sorted);
    return ofSorted(sorted, q);
  }

  /** {@link #quantile} of already ascending-sorted values (NaNs last, as {@link Arrays#sort(float[])} puts them). */
  public static float ofSorted(float[] sorted, double q) {
    int n = sorted.length;
    if (n == 0) throw new IllegalArgumentException("quantile of an empty tensor");
    if (!(q >= 0 && q <= 1)) throw new IllegalArgumentException("q must be in [0, 1], got " + q);
    if (Float.isNaN(sorted[n - 1])) return Float.NaN; // torch: any NaN makes the quantile NaN
    float rank = (float) q * (float) (n - 1);
    int i = (int) rank;
    int j = Math.min(i + 1, n - 1);
    float w = rank - i;
    float a = sorted[i];
    float b = sorted[j];
    float diff = b - a;
    // at::lerp: small weights from the start, large ones from the end, each one fused operation
    return Math.abs(w) < 0.5f ? Math.fma(w, diff, a) : Math.fma(-diff, 1f - w, b);
  }
}
