package marigold4j.train.data;

/**
 * Where a training run stands in its data: the epoch and the number of the epoch's batches (plan entries, including
 * skipped ones) already consumed. Saved in checkpoints; {@link TrainingDataLoader#iterator(DataPosition)} resumes
 * from it with the same order, flips and batches as an uninterrupted run.
 */
public record DataPosition(long epoch, int batch) {
  /** The start of the first epoch. */
  public static final DataPosition START = new DataPosition(0, 0);

  public DataPosition {
    if (epoch < 0 || batch < 0) throw new IllegalArgumentException("bad data position " + epoch + "/" + batch);
  }
}
