package marigold4j.geometry;

import java.util.Arrays;
import java.util.Locale;
import marigold4j.eval.depth.LeastSquaresAlignment;

/**
 * Aligns an affine-invariant depth prediction {@code d} to a metric reference {@code m} (metres; 0, NaN or infinite =
 * no measurement) by a scale {@code s} and shift {@code t} fitted over the valid reference pixels.
 *
 * <ul>
 *   <li>{@link Space#DEPTH}: {@code s·d + t ≈ m}; metric depth {@code s·d + t}.</li>
 *   <li>{@link Space#DISPARITY}: {@code s·d + t ≈ 1/m}; metric depth {@code 1/(s·d + t)}.</li>
 * </ul>
 * Pixels whose metric depth would not be positive (or finite) are invalid and written as 0.
 *
 * <p>The plain fit is ordinary least squares, the evaluation protocol's {@link LeastSquaresAlignment} (float64). The
 * robust fit is iteratively reweighted least squares from that start: up to {@value #MAX_ITER} iterations with Huber
 * weights ({@code k = 1.345·σ}), then up to {@value #MAX_ITER} with Tukey's biweight ({@code c = 4.685·σ}, zero
 * weight beyond), where {@code σ = 1.4826·median|r|} of the current residuals (the median over at most
 * {@value #SCALE_SAMPLE} evenly strided points), each phase stopping when {@code s} and {@code t} change by less than
 * 1e-9 relative. Huber's convex phase moves the start away from the outliers; Tukey's then ignores them.
 */
public final class MetricAlignment {
  /** Fewer valid reference pixels than this is an error. */
  public static final int MIN_POINTS = 10;
  static final int MAX_ITER = 50;
  static final int SCALE_SAMPLE = 100_000;
  static final double HUBER_K = 1.345;
  static final double TUKEY_C = 4.685;

  /** The space the scale and shift act in. */
  public enum Space {
    DEPTH, DISPARITY;

    /** {@code depth} or {@code disparity}, as {@code --metric-alignment} spells it. */
    public static Space parse(String s) {
      return switch (s.toLowerCase(Locale.ROOT)) {
        case "depth" -> DEPTH;
        case "disparity" -> DISPARITY;
        default -> throw new IllegalArgumentException("--metric-alignment must be depth or disparity, got '" + s + "'");
      };
    }

    public String cliName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * A fit and its residuals on the reference points, in metres.
   *
   * @param points valid reference pixels the fit used
   * @param inliers reference pixels with non-zero final weight (all of them for the plain fit)
   * @param rmseM root mean square of (metric - reference) over the reference pixels with a valid metric depth
   * @param absRel mean of |metric - reference| / reference over the same pixels
   * @param method {@code least_squares} or {@code irls_huber_tukey}
   */
  public record Fit(double scale, double shift, Space space, long points, long inliers, double rmseM, double absRel,
      String method) {
    /** The metric depth of predicted value {@code d}, or 0 where it is not positive and finite. */
    public float metric(float d) {
      double v = scale * d + shift;
      if (space == Space.DISPARITY) v = 1 / v;
      return v > 0 && Double.isFinite(v) && v < Float.MAX_VALUE ? (float) v : 0f;
    }
  }

  private MetricAlignment() {}

  /** Whether a reference value is a measurement. */
  static boolean valid(float m) {
    return m > 0 && Float.isFinite(m);
  }

  /**
   * Fits {@code pred} (H, W) to {@code reference} (H, W, metres).
   *
   * @param source names the reference in error messages (the file)
   * @throws IllegalArgumentException for a size mismatch, fewer than {@value #MIN_POINTS} valid points, a degenerate
   *     (constant) prediction on them, or a result without any positive depth
   */
  public static Fit fit(float[] pred, float[] reference, int height, int width, Space space, boolean robust,
      String source) {
    if (pred.length != reference.length || pred.length != height * width) {
      throw new IllegalArgumentException(source + ": the metric reference has " + reference.length
          + " values, the prediction " + pred.length + " (" + height + "x" + width + ")");
    }
    boolean[] mask = new boolean[pred.length];
    float[] target = new float[pred.length];
    long n = 0;
    for (int i = 0; i < pred.length; i++) {
      if (valid(reference[i]) && Float.isFinite(pred[i])) {
        mask[i] = true;
        target[i] = space == Space.DEPTH ? reference[i] : 1 / reference[i];
        n++;
      }
    }
    if (n < MIN_POINTS) {
      throw new IllegalArgumentException(source + ": only " + n + " valid metric reference pixels (> 0 and finite), "
          + "at least " + MIN_POINTS + " are needed");
    }
    LeastSquaresAlignment.Fit ls = LeastSquaresAlignment.fit(target, pred, mask, height, width, null);
    if (isConstant(pred, mask)) {
      throw new IllegalArgumentException(source + ": the prediction is constant on the reference pixels; "
          + "scale and shift cannot both be fitted");
    }
    double s = ls.scaleF64();
    double t = ls.shiftF64();
    long inliers = n;
    String method = "least_squares";
    if (robust) {
      double[] w = new double[pred.length];
      double[] st = {s, t};
      irls(pred, target, mask, n, st, w, false);
      irls(pred, target, mask, n, st, w, true);
      s = st[0];
      t = st[1];
      inliers = 0;
      for (int i = 0; i < w.length; i++) if (mask[i] && w[i] > 0) inliers++;
      method = "irls_huber_tukey";
    }
    Fit fit = new Fit(s, t, space, n, inliers, 0, 0, method);
    double se = 0;
    double rel = 0;
    long k = 0;
    for (int i = 0; i < pred.length; i++) {
      if (!mask[i]) continue;
      float v = fit.metric(pred[i]);
      if (v == 0) continue;
      double r = v - reference[i];
      se += r * r;
      rel += Math.abs(r) / reference[i];
      k++;
    }
    if (k == 0) {
      throw new IllegalArgumentException(source + ": the " + space.cliName() + " alignment (s=" + s + ", t=" + t
          + ") gives no positive depth on the reference pixels");
    }
    return new Fit(s, t, space, n, inliers, Math.sqrt(se / k), rel / k, method);
  }

  /**
   * The metric depth map of {@code pred}: 0 where not positive.
   *
   * @throws IllegalArgumentException naming {@code source} when no pixel has a positive depth
   */
  public static float[] apply(float[] pred, Fit fit, String source) {
    float[] out = new float[pred.length];
    boolean any = false;
    for (int i = 0; i < pred.length; i++) {
      out[i] = fit.metric(pred[i]);
      any |= out[i] > 0;
    }
    if (!any) {
      throw new IllegalArgumentException(source + ": the " + fit.space().cliName() + " alignment (s=" + fit.scale()
          + ", t=" + fit.shift() + ") gives no positive depth anywhere");
    }
    return out;
  }

  /** Weighted least squares {@code min sum w (s p + t - g)^2}; returns false when singular. */
  static boolean weightedFit(float[] p, float[] g, boolean[] mask, double[] w, double[] st) {
    double sw = 0;
    double sp = 0;
    double sg = 0;
    for (int i = 0; i < p.length; i++) {
      if (!mask[i] || w[i] == 0) continue;
      sw += w[i];
      sp += w[i] * p[i];
      sg += w[i] * g[i];
    }
    if (sw == 0) return false;
    double mp = sp / sw;
    double mg = sg / sw;
    double spp = 0;
    double spg = 0;
    for (int i = 0; i < p.length; i++) {
      if (!mask[i] || w[i] == 0) continue;
      double dp = p[i] - mp;
      spp += w[i] * dp * dp;
      spg += w[i] * dp * (g[i] - mg);
    }
    if (!(spp > 0)) return false;
    st[0] = spg / spp;
    st[1] = mg - st[0] * mp;
    return true;
  }

  private static void irls(float[] p, float[] g, boolean[] mask, long n, double[] st, double[] w, boolean tukey) {
    for (int iter = 0; iter < MAX_ITER; iter++) {
      double sigma = residualScale(p, g, mask, n, st);
      if (sigma == 0) sigma = Double.MIN_NORMAL;    // most points fit exactly: only they keep weight under Tukey
      for (int i = 0; i < p.length; i++) {
        if (!mask[i]) continue;
        double r = Math.abs(st[0] * p[i] + st[1] - g[i]);
        if (tukey) {
          double u = r / (TUKEY_C * sigma);
          w[i] = u < 1 ? (1 - u * u) * (1 - u * u) : 0;
        } else {
          w[i] = r <= HUBER_K * sigma ? 1 : HUBER_K * sigma / r;
        }
      }
      double s0 = st[0];
      double t0 = st[1];
      if (!weightedFit(p, g, mask, w, st)) {
        st[0] = s0;
        st[1] = t0;
        return;
      }
      double tol = 1e-9 * (Math.abs(st[0]) + Math.abs(st[1]) + 1e-30);
      if (Math.abs(st[0] - s0) <= tol && Math.abs(st[1] - t0) <= tol) return;
    }
  }

  /** {@code 1.4826·median|r|} over an evenly strided sample of at most {@link #SCALE_SAMPLE} valid pixels. */
  private static double residualScale(float[] p, float[] g, boolean[] mask, long n, double[] st) {
    long stride = Math.max(1, (n + SCALE_SAMPLE - 1) / SCALE_SAMPLE);
    double[] r = new double[(int) ((n + stride - 1) / stride)];
    int k = 0;
    long seen = 0;
    for (int i = 0; i < p.length && k < r.length; i++) {
      if (!mask[i]) continue;
      if (seen++ % stride == 0) r[k++] = Math.abs(st[0] * p[i] + st[1] - g[i]);
    }
    Arrays.sort(r, 0, k);
    double median = k % 2 == 1 ? r[k / 2] : (r[k / 2 - 1] + r[k / 2]) / 2;
    return 1.4826 * median;
  }

  private static boolean isConstant(float[] p, boolean[] mask) {
    float first = Float.NaN;
    for (int i = 0; i < p.length; i++) {
      if (!mask[i]) continue;
      if (Float.isNaN(first)) first = p[i];
      else if (p[i] != first) return false;
    }
    return true;
  }
}
