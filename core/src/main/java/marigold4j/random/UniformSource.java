package marigold4j.random;

/** A source of uniform doubles in [0, 1), such as Python's {@code random.random} or numpy's legacy generator. */
@FunctionalInterface
public interface UniformSource {
  /** The next double in [0, 1). */
  double random();
}
