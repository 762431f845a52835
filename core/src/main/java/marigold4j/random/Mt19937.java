package marigold4j.random;

/**
 * The Mersenne Twister MT19937 (Matsumoto and Nishimura, 1998), the generator behind both CPython's {@code random}
 * module and numpy's legacy {@code RandomState}. The two differ only in how they are seeded, which is left to the
 * callers ({@link #initGenrand} / {@link #initByArray}).
 */
final class Mt19937 {
  private static final int N = 624;
  private static final int M = 397;
  private static final int MATRIX_A = 0x9908b0df;
  private static final int UPPER_MASK = 0x80000000;
  private static final int LOWER_MASK = 0x7fffffff;

  private final int[] mt = new int[N];
  private int mti = N + 1;

  /** The reference {@code init_genrand}: fills the state from one 32-bit seed. */
  void initGenrand(int seed) {
    mt[0] = seed;
    for (mti = 1; mti < N; mti++) {
      // 1812433253 * (prev ^ (prev >>> 30)) + index, all mod 2^32 (int overflow is exactly that)
      mt[mti] = 1812433253 * (mt[mti - 1] ^ (mt[mti - 1] >>> 30)) + mti;
    }
  }

  /** The reference {@code init_by_array}: seeds from a key of 32-bit words. */
  void initByArray(int[] key) {
    initGenrand(19650218);
    int i = 1;
    int j = 0;
    for (int k = Math.max(N, key.length); k > 0; k--) {
      mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >>> 30)) * 1664525)) + key[j] + j;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (int k = N - 1; k > 0; k--) {
      mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >>> 30)) * 1566083941)) - i;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = UPPER_MASK; // MSB is 1, assuring a non-zero initial state
    mti = N;
  }

  /** The full state: the 624 words followed by the position, as CPython's {@code getstate()} holds it. */
  int[] state() {
    int[] s = java.util.Arrays.copyOf(mt, N + 1);
    s[N] = mti;
    return s;
  }

  /** Restores a state from {@link #state()}. */
  void setState(int[] s) {
    if (s.length != N + 1 || s[N] < 0 || s[N] > N + 1) {
      throw new IllegalArgumentException("an MT19937 state has " + (N + 1) + " words ending with a position in [0, "
          + (N + 1) + "], got " + s.length + " words");
    }
    System.arraycopy(s, 0, mt, 0, N);
    mti = s[N];
  }

  /** The next 32 random bits, as an unsigned value in a long. */
  long nextInt32() {
    if (mti >= N) {
      if (mti == N + 1) initGenrand(5489);
      int kk;
      for (kk = 0; kk < N - M; kk++) {
        int y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
        mt[kk] = mt[kk + M] ^ (y >>> 1) ^ ((y & 1) != 0 ? MATRIX_A : 0);
      }
      for (; kk < N - 1; kk++) {
        int y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
        mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ ((y & 1) != 0 ? MATRIX_A : 0);
      }
      int y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
      mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ ((y & 1) != 0 ? MATRIX_A : 0);
      mti = 0;
    }
    int y = mt[mti++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y & 0xffffffffL;
  }

  /** A double in [0, 1) with 53 random bits: {@code (a * 2^26 + b) / 2^53}, a = 27 bits, b = 26 bits. */
  double nextDouble53() {
    long a = nextInt32() >>> 5;
    long b = nextInt32() >>> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
  }
}
