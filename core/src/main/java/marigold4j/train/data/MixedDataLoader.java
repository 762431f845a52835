package marigold4j.train.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import marigold4j.random.NumpyRandom;

/**
 * The original's dataset mixer ({@code load.py}'s {@code MixedDataLoader}): per epoch, every batch of the first
 * loader and a share of the second's so that batches come in the ratio {@code split1 : split2} (9 : 1 Hypersim to
 * Virtual KITTI 2), in an order shuffled by numpy's legacy global generator.
 */
public final class MixedDataLoader {
  private final int len1;
  private final int len2;
  private final double frac1;
  private final double frac2;

  /**
   * @param len1 batches per epoch of the first loader
   * @param len2 batches per epoch of the second loader
   * @throws IllegalArgumentException if a loader is empty (the original divides by zero)
   */
  public MixedDataLoader(int len1, int len2, int split1, int split2) {
    if (len1 <= 0 || len2 <= 0) {
      throw new IllegalArgumentException("both datasets must have at least one batch (got " + len1 + " and " + len2
          + ")");
    }
    this.len1 = len1;
    this.len2 = len2;
    // evaluated as the original: (size2 / size1) * (split1 / split2), capped at 1
    this.frac1 = Math.min(((double) len2 / len1) * ((double) split1 / split2), 1);
    this.frac2 = Math.min(((double) len1 / len2) * ((double) split2 / split1), 1);
  }

  /** {@code effective_fraction1}: the share of the first loader's batches used per epoch. */
  public double fraction1() {
    return frac1;
  }

  /** {@code effective_fraction2}. */
  public double fraction2() {
    return frac2;
  }

  /** Batches taken from the first loader per epoch. */
  public int count1() {
    return (int) (len1 * frac1);
  }

  /** Batches taken from the second loader per epoch. */
  public int count2() {
    return (int) (len2 * frac2);
  }

  /** {@code len(mixed)}: batches per epoch. */
  public int length() {
    return count1() + count2();
  }

  /**
   * {@code create_split()}: the epoch's order, true = the next batch of the first loader. Draws from {@code rng} as
   * {@code np.random.shuffle} on the global generator does.
   */
  public List<Boolean> createSplit(NumpyRandom rng) {
    List<Boolean> choice = new ArrayList<>(length());
    choice.addAll(Collections.nCopies(count1(), Boolean.TRUE));
    choice.addAll(Collections.nCopies(count2(), Boolean.FALSE));
    rng.shuffle(choice);
    return choice;
  }
}
