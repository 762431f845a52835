package marigold4j.random;

/**
 * numpy's legacy global generator ({@code np.random.seed} / {@code np.random.random}, i.e. {@code RandomState}):
 * MT19937 seeded with the reference {@code init_genrand} and {@code random_sample} with 53 random bits.
 */
public final class NumpyRandom implements UniformSource {
  private final Mt19937 mt = new Mt19937();

  /** Seeded as {@code np.random.seed(seed)}; numpy accepts 0 .. 2^32 - 1. */
  public NumpyRandom(long seed) {
    seed(seed);
  }

  /** {@code np.random.seed(seed)} with an int argument. */
  public void seed(long seed) {
    if (seed < 0 || seed > 0xffffffffL) {
      throw new IllegalArgumentException("Seed must be between 0 and 2**32 - 1, got " + seed);
    }
    mt.initGenrand((int) seed);
  }

  /** {@code np.random.random()}: the next double in [0, 1). */
  @Override
  public double random() {
    return mt.nextDouble53();
  }

  /** The generator's next raw 32-bit output, as an unsigned value. */
  public long nextUint32() {
    return mt.nextInt32();
  }

  /**
   * numpy's legacy {@code random_interval(max)}: a uniform integer in [0, max], drawn by masking 32-bit outputs to
   * the smallest covering power of two and rejecting values above {@code max}.
   */
  public long randomInterval(long max) {
    if (max < 0 || max > 0xffffffffL) throw new IllegalArgumentException("max out of range: " + max);
    if (max == 0) return 0;
    long mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    long value;
    do {
      value = nextUint32() & mask;
    } while (value > max);
    return value;
  }

  /** {@code np.random.shuffle(list)} (legacy {@code RandomState}): Fisher-Yates from the end. */
  public <T> void shuffle(java.util.List<T> list) {
    for (int i = list.size() - 1; i >= 1; i--) {
      int j = (int) randomInterval(i);
      T tmp = list.get(i);
      list.set(i, list.get(j));
      list.set(j, tmp);
    }
  }

  /** The generator's state ({@code np.random.get_state()}'s MT19937 words and position), to save with a checkpoint. */
  public int[] getState() {
    return mt.state();
  }

  /** Continues from a state taken with {@link #getState()}. */
  public void setState(int[] state) {
    mt.setState(state);
  }
}
