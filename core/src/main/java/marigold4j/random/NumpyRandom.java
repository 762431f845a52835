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
}
