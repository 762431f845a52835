package marigold4j.prep;

/**
 * numpy's float64 reductions over a whole multi-dimensional array, summed in numpy's order so that means and standard
 * deviations match {@code np.mean} / {@code np.std} to the last bit: numpy 1.x (the fixtures' 1.24) reduces an n-d
 * array through its 8192-element iterator buffer, each buffer summed pairwise and the partial sums added in order.
 * (numpy 2 sums a contiguous array in one pairwise pass, which changes the last digit of Hypersim's meta csv.)
 */
public final class NumpyStats {
  /** numpy's {@code PW_BLOCKSIZE}: below it the sum runs in 8 interleaved accumulators. */
  private static final int BLOCK = 128;
  /** numpy's default iterator buffer size ({@code NPY_BUFSIZE}). */
  private static final int BUFSIZE = 8192;

  private NumpyStats() {}

  /** {@code np.add.reduce(values, axis=None)} of a float64 n-d array (numpy 1.x buffered pairwise summation). */
  public static double sum(double[] values) {
    double s = 0.0;
    for (int off = 0; off < values.length; off += BUFSIZE) {
      s += pairwise(values, off, Math.min(BUFSIZE, values.length - off));
    }
    return s;
  }

  /** {@code np.mean(values)}. */
  public static double mean(double[] values) {
    return sum(values) / values.length;
  }

  /** {@code np.std(values)}: population standard deviation, {@code sqrt(mean(|x - mean(x)|^2))}. */
  public static double std(double[] values) {
    double m = mean(values);
    double[] sq = new double[values.length];
    for (int i = 0; i < values.length; i++) {
      double d = values[i] - m;
      sq[i] = d * d;
    }
    return Math.sqrt(sum(sq) / values.length);
  }

  private static double pairwise(double[] a, int off, int n) {
    if (n < 8) {
      double res = 0.0;
      for (int i = 0; i < n; i++) res += a[off + i];
      return res;
    }
    if (n <= BLOCK) {
      double[] r = new double[8];
      System.arraycopy(a, off, r, 0, 8);
      int i;
      for (i = 8; i < n - (n % 8); i += 8) {
        for (int j = 0; j < 8; j++) r[j] += a[off + i + j];
      }
      double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
      for (; i < n; i++) res += a[off + i];
      return res;
    }
    int n2 = n / 2;
    n2 -= n2 % 8; // split on a multiple of the unroll factor, as numpy does
    return pairwise(a, off, n2) + pairwise(a, off + n2, n - n2);
  }
}
