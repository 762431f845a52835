package marigold4j.testing;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;

/**
 * Checks that repeated work inside a caller's {@link PointerScope} leaves no native objects behind.
 *
 * <p>{@link Pointer#totalCount()} is process-wide: JavaCPP's collector thread may free objects of earlier tests
 * between two rounds, so the count can fall at any time. A leak is therefore a count that rises above the count
 * after the second round (the first one warms up lazily created state); a fall is not a failure.
 */
public final class NativePointers {
  private NativePointers() {}

  /** Runs {@code body} {@code rounds} (at least 3) times, each in its own scope; no round may end above the second. */
  public static void assertFlatOverScopedRounds(int rounds, String what, Runnable body) {
    if (rounds < 3) throw new IllegalArgumentException("need a warm-up, a baseline and a checked round: " + rounds);
    long[] counts = new long[rounds];
    for (int i = 0; i < rounds; i++) {
      try (PointerScope scope = new PointerScope()) {
        body.run();
      }
      counts[i] = Pointer.totalCount();
    }
    for (int i = 2; i < rounds; i++) {
      assertThat(counts[i]).as("live native pointers after %s %d of %d (after the second: %d)", what, i + 1, rounds,
          counts[1]).isLessThanOrEqualTo(counts[1]);
    }
  }
}
