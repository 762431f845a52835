package marigold4j.train.data;

/**
 * Marigold's {@code NearFarMetricNormalizer} ({@code src/util/depth_transform.py}): maps metric depth to
 * [norm_min, norm_max] by its 2 % / 98 % quantiles over the valid, positive pixels, in float32.
 */
public final class NearFarMetricNormalizer {
  private final float normMin;
  private final float normRange;
  private final double minQuantile;
  private final double maxQuantile;
  private final boolean clip;

  /** The defaults: range [-1, 1], quantile 0.02, clipping. */
  public NearFarMetricNormalizer() {
    this(-1.0, 1.0, 0.02, true);
  }

  public NearFarMetricNormalizer(double normMin, double normMax, double minMaxQuantile, boolean clip) {
    this.normMin = (float) normMin;
    this.normRange = (float) (normMax - normMin);
    this.minQuantile = minMaxQuantile;
    this.maxQuantile = 1.0 - minMaxQuantile;
    this.clip = clip;
  }

  /**
   * Normalises {@code depth}.
   *
   * @param valid mask of usable pixels, or null for all; pixels with depth {@code <= 0} are never used
   * @throws IllegalArgumentException if no pixel is usable
   */
  public float[] normalize(float[] depth, boolean[] valid) {
    int n = 0;
    for (int i = 0; i < depth.length; i++) if ((valid == null || valid[i]) && depth[i] > 0) n++;
    if (n == 0) throw new IllegalArgumentException("no valid positive depth to normalise");
    float[] v = new float[n];
    int k = 0;
    for (int i = 0; i < depth.length; i++) if ((valid == null || valid[i]) && depth[i] > 0) v[k++] = depth[i];
    java.util.Arrays.sort(v);
    float lo = TorchQuantile.ofSorted(v, minQuantile);
    float hi = TorchQuantile.ofSorted(v, maxQuantile);
    float range = hi - lo;
    float[] out = new float[depth.length];
    for (int i = 0; i < depth.length; i++) {
      float x = (depth[i] - lo) / range * normRange + normMin;
      out[i] = clip ? Math.min(Math.max(x, normMin), normMin + normRange) : x;
    }
    return out;
  }

  /** {@code denormalize}: back to [0, 1], {@code (x - norm_min) / norm_range}. */
  public float[] denormalize(float[] normalized) {
    float[] out = new float[normalized.length];
    for (int i = 0; i < out.length; i++) out[i] = (normalized[i] - normMin) / normRange;
    return out;
  }
}
