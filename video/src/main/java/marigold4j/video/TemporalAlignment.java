package marigold4j.video;

/**
 * Affine alignment of one frame's depth to another's: the scale s and shift t minimising
 * {@code sum_i (s x_i + t - y_i)^2} over all pixels, solved in closed form (double precision):
 * <pre>
 *   s = cov(x, y) / var(x),   t = mean(y) - s mean(x)
 * </pre>
 * A constant frame (var(x) = 0) keeps its scale (s = 1) and is shifted onto y's mean.
 */
public final class TemporalAlignment {
  private TemporalAlignment() {}

  /** The least-squares fit of {@code x} onto {@code y}, as {s, t}. */
  public static double[] fit(float[] x, float[] y) {
    if (x.length != y.length || x.length == 0) {
      throw new IllegalArgumentException("frames of " + x.length + " and " + y.length + " values");
    }
    int n = x.length;
    double mx = 0;
    double my = 0;
    for (int i = 0; i < n; i++) {
      mx += x[i];
      my += y[i];
    }
    mx /= n;
    my /= n;
    double sxx = 0;
    double sxy = 0;
    for (int i = 0; i < n; i++) {
      double dx = x[i] - mx;
      sxx += dx * dx;
      sxy += dx * (y[i] - my);
    }
    double s = sxx > 0 ? sxy / sxx : 1.0;
    return new double[] {s, my - s * mx};
  }

  /** {@code s x + t}, a new array. */
  public static float[] apply(float[] x, double s, double t) {
    float[] out = new float[x.length];
    for (int i = 0; i < x.length; i++) out[i] = (float) (s * x[i] + t);
    return out;
  }
}
