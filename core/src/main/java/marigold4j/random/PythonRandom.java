package marigold4j.random;

import java.math.BigInteger;

/**
 * CPython's {@code random.Random}: MT19937 seeded with {@code init_by_array} over the 32-bit words of |seed|, and
 * {@link #random()} with 53 random bits. {@code random.seed(n); random.random()} in Python and
 * {@code new PythonRandom(n).random()} here give the same doubles, bit for bit.
 */
public final class PythonRandom implements UniformSource {
  private final Mt19937 mt = new Mt19937();

  /** Seeded as {@code random.seed(seed)} with an int argument. */
  public PythonRandom(long seed) {
    seed(seed);
  }

  /** {@code random.seed(n)} for an int n (the sign is ignored, as CPython does). */
  public void seed(long seed) {
    seed(BigInteger.valueOf(seed));
  }

  /** {@code random.seed(n)} for an arbitrarily large int n. */
  public void seed(BigInteger seed) {
    BigInteger n = seed.abs();
    // Little-endian 32-bit words of |n|; zero is seeded with the single word 0.
    int words = Math.max(1, (n.bitLength() + 31) / 32);
    int[] key = new int[words];
    for (int i = 0; i < words; i++) key[i] = n.shiftRight(32 * i).intValue();
    mt.initByArray(key);
  }

  /** {@code random.random()}: the next double in [0, 1). */
  @Override
  public double random() {
    return mt.nextDouble53();
  }

  /** {@code random.getrandbits(32)}: the generator's next raw 32-bit output. */
  public long nextUint32() {
    return mt.nextInt32();
  }

  /** The generator's state ({@code random.getstate()}'s MT19937 words and position), to save with a checkpoint. */
  public int[] getState() {
    return mt.state();
  }

  /** Continues from a state taken with {@link #getState()}. */
  public void setState(int[] state) {
    mt.setState(state);
  }
}
