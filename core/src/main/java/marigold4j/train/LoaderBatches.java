package marigold4j.train;

import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.train.data.CollatedBatch;
import marigold4j.train.data.DataPosition;
import marigold4j.train.data.TrainingDataLoader;

/**
 * The Hypersim / Virtual KITTI 2 data loader ({@link TrainingDataLoader}) as the loop's {@link BatchSource}. Its
 * resume state is the loader's {@link DataPosition} ({@code epoch/batch}), saved in checkpoints as text.
 */
public final class LoaderBatches implements BatchSource {
  private final TrainingDataLoader loader;
  private TrainingDataLoader.BatchIterator iterator;
  private DataPosition after = DataPosition.START;
  private long position;

  public LoaderBatches(TrainingDataLoader loader) {
    this.loader = loader;
  }

  @Override
  public TrainingBatch next() {
    if (iterator == null) iterator = loader.iterator(after);
    CollatedBatch b = iterator.next();
    after = b.positionAfter();
    position++;
    // the original's GeoWizard training takes batch["domain"][0]; a batch never mixes datasets
    String domain = b.domains().get(0);
    return new TrainingBatch(b.rgb(), b.valMask(), b.metric(), b.normals(),
        domain == null ? null : Domain.parse(domain), b.draws());
  }

  @Override
  public long position() {
    return position;
  }

  /** Without a loader state a position cannot be mapped to an epoch and batch; use {@link #restore}. */
  @Override
  public void seek(long position) {
    if (position != 0) throw new IllegalStateException("the data loader resumes from its checkpoint state only");
    restore(0, null);
  }

  @Override
  public String checkpointState() {
    return after.epoch() + "/" + after.batch();
  }

  @Override
  public void restore(long position, String state) {
    close();
    this.position = position;
    if (state == null) {
      after = DataPosition.START;
    } else {
      String[] parts = state.split("/");
      after = new DataPosition(Long.parseLong(parts[0]), Integer.parseInt(parts[1]));
    }
  }

  /** Items the loader reported as bad so far. */
  public int badItems() {
    return iterator == null ? 0 : iterator.badItems();
  }

  @Override
  public void close() {
    if (iterator != null) iterator.close();
    iterator = null;
  }
}
