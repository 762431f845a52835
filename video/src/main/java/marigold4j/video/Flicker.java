package marigold4j.video;

/**
 * The flicker figure of a depth clip: the mean over consecutive frame pairs of the mean absolute change per pixel,
 * relative to the earlier frame's range, {@code mean_i |d_t,i - d_t-1,i| / (max d_t-1 - min d_t-1)}. It is
 * invariant to one scale and shift of the whole clip, so clips normalised differently compare; 0 = no change at all.
 * On a static-camera clip every change is flicker.
 */
public final class Flicker {
  private float[] previous;
  private double previousRange;
  private double sum;
  private int pairs;

  /** Adds the next frame's depth. */
  public void add(float[] depth) {
    if (previous != null) {
      if (depth.length != previous.length) throw new IllegalArgumentException("frames of different sizes");
      double change = 0;
      for (int i = 0; i < depth.length; i++) change += Math.abs(depth[i] - previous[i]);
      change /= depth.length;
      if (previousRange > 0) {
        sum += change / previousRange;
        pairs++;
      }
    }
    float min = Float.POSITIVE_INFINITY;
    float max = Float.NEGATIVE_INFINITY;
    for (float v : depth) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    previous = depth;
    previousRange = (double) max - min;
  }

  /** The figure so far, or NaN before two frames. */
  public double value() {
    return pairs == 0 ? Double.NaN : sum / pairs;
  }

  /** Frame pairs counted. */
  public int pairs() {
    return pairs;
  }
}
