package marigold4j.train;

/**
 * Where the training loop takes its micro-batches from: an endless, deterministic stream (epochs follow each other;
 * an implementation reshuffles per epoch from its seed). Its position is saved in checkpoints, so that a resumed run
 * continues with exactly the batch an uninterrupted run would have seen next.
 */
public interface BatchSource extends AutoCloseable {
  /** The next micro-batch. Tensors belong to the caller's {@code PointerScope}, if one is open. */
  TrainingBatch next();

  /** How many micro-batches {@link #next()} has returned since position 0. */
  long position();

  /** Continues as if {@code position} micro-batches had been taken from a fresh source. */
  void seek(long position);

  /**
   * Extra state a checkpoint must hold to resume this source (e.g. the data loader's epoch and batch), or null when
   * {@link #position()} says it all.
   */
  default String checkpointState() {
    return null;
  }

  /** Resumes from a checkpoint: {@code state} is what {@link #checkpointState()} returned then (may be null). */
  default void restore(long position, String state) {
    seek(position);
  }

  @Override
  default void close() {}
}
