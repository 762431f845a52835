package marigold4j.train.data;

/**
 * A training dataset: a fixed list of samples, each decoded on demand. Implementations are thread-safe (the loader
 * decodes several items at once).
 */
public interface TrainingDataset {
  /** Short name used in logs and batch records ({@code "hypersim"}, {@code "vkitti"}). */
  String name();

  /** Number of samples. */
  int size();

  /** Whether items are augmented (random horizontal flip) and resized / cropped, as with {@code transform=True}. */
  boolean transform();

  /** The rgb file of a sample, for messages. */
  String describe(int index);

  /**
   * Decodes one sample.
   *
   * @param flip mirror it horizontally (ignored without {@link #transform()})
   * @throws IllegalArgumentException naming the file when an input is missing or cannot be decoded
   */
  DecodedItem decode(int index, boolean flip);

  /** {@link #decode} as tensors, created in the caller's scope. */
  default TrainingItem item(int index, boolean flip) {
    return decode(index, flip).toItem();
  }
}
