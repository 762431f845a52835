package marigold4j.video;

import marigold4j.ensemble.PairMoments;

/**
 * Affine alignment of one frame's depth to another's, over all pixels, in closed form (double precision).
 * {@link Method#LEAST_SQUARES}: the scale s and shift t minimising {@code sum_i (s x_i + t - y_i)^2},
 * <pre>
 *   s = cov(x, y) / var(x),   t = mean(y) - s mean(x)
 * </pre>
 * {@link Method#SYMMETRIC}: the geometric mean of the two least-squares slopes (x onto y, and the inverse of y onto
 * x), {@code s = sign(cov) sqrt(var(y) / var(x))}, same t: it matches y's mean and spread. Both recover an exact
 * affine relation; with noise, least squares shrinks s by the frames' correlation (regression dilution), which
 * compounds along a chain of frames, while the symmetric fit does not.
 * A constant frame (var(x) = 0) keeps its scale (s = 1) and is shifted onto y's mean.
 */
public final class TemporalAlignment {
  /** How the scale is fitted. */
  public enum Method {
    LEAST_SQUARES("least-squares"), SYMMETRIC("symmetric");

    private final String cliName;

    Method(String cliName) {
      this.cliName = cliName;
    }

    /** {@code least-squares} or {@code symmetric}. */
    public String cliName() {
      return cliName;
    }

    /** @throws IllegalArgumentException naming the option for an unknown name */
    public static Method parse(String name) {
      for (Method m : values()) if (m.cliName.equals(name)) return m;
      throw new IllegalArgumentException("--temporal-alignment must be least-squares or symmetric, got '" + name + "'");
    }
  }

  private TemporalAlignment() {}

  /** The least-squares fit of {@code x} onto {@code y}, as {s, t}. */
  public static double[] fit(float[] x, float[] y) {
    return fit(x, y, Method.LEAST_SQUARES);
  }

  /** The fit of {@code x} onto {@code y} by {@code method}, as {s, t}. */
  public static double[] fit(float[] x, float[] y, Method method) {
    PairMoments m = PairMoments.of(x, y);
    double s = !(m.sxx() > 0) ? 1.0 : method == Method.SYMMETRIC ? m.symmetricScale() : m.leastSquaresScale();
    return new double[] {s, m.shiftFor(s)};
  }

  /** {@code s x + t}, a new array. */
  public static float[] apply(float[] x, double s, double t) {
    float[] out = new float[x.length];
    for (int i = 0; i < x.length; i++) out[i] = (float) (s * x[i] + t);
    return out;
  }
}
