package marigold4j.estimator.tiles;

import marigold4j.ensemble.PairMoments;

/**
 * Least-squares scale and shift of an affine-invariant map onto a reference: the (s, t) minimising
 * {@code sum (s x_i + t - r_i)^2}, solved in closed form in float64 ({@code s = cov(x, r) / var(x)},
 * {@code t = mean(r) - s mean(x)}).
 *
 * @param scale s
 * @param shift t
 */
public record AffineFit(double scale, double shift) {
  /** The identity (a map already in the reference's frame). */
  public static final AffineFit IDENTITY = new AffineFit(1, 0);

  /**
   * Fits {@code x} onto {@code reference} (same length, paired by index). A flat {@code x} (no variance) or a fit
   * that would flip the map (s <= 0: the tile and the reference disagree about near and far) gets the shift alone.
   */
  public static AffineFit fit(float[] x, float[] reference) {
    PairMoments m = PairMoments.of(x, reference);
    double s = m.leastSquaresScale();
    if (!(s > 0)) return new AffineFit(1, m.shiftFor(1));
    return new AffineFit(s, m.shiftFor(s));
  }

  /** {@code s x + t}. */
  public float apply(float x) {
    return (float) (scale * x + shift);
  }
}
