package marigold4j.ensemble;

/**
 * First and second moments of two maps paired by index, in float64: what every closed-form affine fit of one map onto
 * another needs (tiles onto the global prediction, a video frame onto its predecessor).
 *
 * @param meanX mean of x
 * @param meanY mean of y
 * @param sxx sum of (x - meanX)^2
 * @param sxy sum of (x - meanX)(y - meanY)
 * @param syy sum of (y - meanY)^2
 */
public record PairMoments(double meanX, double meanY, double sxx, double sxy, double syy) {
  /**
   * The moments of {@code x} and {@code y} (same length, at least one value).
   *
   * @throws IllegalArgumentException when the lengths differ or are zero
   */
  public static PairMoments of(float[] x, float[] y) {
    if (x.length != y.length || x.length == 0) {
      throw new IllegalArgumentException("maps of " + x.length + " and " + y.length + " values");
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
    double syy = 0;
    for (int i = 0; i < n; i++) {
      double dx = x[i] - mx;
      double dy = y[i] - my;
      sxx += dx * dx;
      sxy += dx * dy;
      syy += dy * dy;
    }
    return new PairMoments(mx, my, sxx, sxy, syy);
  }

  /** The least-squares slope of y on x, {@code cov(x, y) / var(x)}; 0 for a constant x. */
  public double leastSquaresScale() {
    return sxx > 0 ? sxy / sxx : 0;
  }

  /**
   * The geometric mean of the two least-squares slopes, {@code sign(cov) sqrt(var(y) / var(x))}: the scale that gives
   * x the spread of y; 0 for a constant x.
   */
  public double symmetricScale() {
    return sxx > 0 ? (sxy < 0 ? -1 : 1) * Math.sqrt(syy / sxx) : 0;
  }

  /** The shift that puts {@code s x} on y's mean. */
  public double shiftFor(double s) {
    return meanY - s * meanX;
  }
}
