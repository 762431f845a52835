package marigold4j.train;

import java.util.Map;
import java.util.function.LongFunction;
import marigold4j.testing.Golden;
import marigold4j.weights.SafeTensors;
import org.bytedeco.pytorch.Tensor;

/**
 * The recorded micro-batches of {@code testdata/training/batches.safetensors} (micro-batch k is {@code batch<k>.*}),
 * and a {@link BatchSource} over them: by default it cycles through them in order; a test may choose any k-th batch.
 */
final class FixtureBatches implements BatchSource {
  private static Map<String, Tensor> tensors;
  private final LongFunction<TrainingBatch> batchAt;
  private long position;

  /** Cycles through the recorded batches in order. */
  FixtureBatches() {
    this(k -> batch((int) (k % count())));
  }

  /** Micro-batch k (k = 0, 1, ... since position 0) is {@code batchAt.apply(k)}. */
  FixtureBatches(LongFunction<TrainingBatch> batchAt) {
    this.batchAt = batchAt;
  }

  /** Batches 0 and 1 alternately: small enough to overfit. */
  static FixtureBatches twoBatches() {
    return new FixtureBatches(k -> batch((int) (k % 2)));
  }

  static synchronized Map<String, Tensor> tensors() {
    if (tensors == null) {
      tensors = SafeTensors.load(Golden.fixtures().resolve("training/batches.safetensors"));
      // shared by every test: must outlive whichever test's PointerScope happened to load it
      tensors.values().forEach(Tensor::retainReference);
    }
    return tensors;
  }

  static int count() {
    int n = 0;
    while (tensors().containsKey("batch" + n + ".rgb")) n++;
    return n;
  }

  static TrainingBatch batch(int k) {
    Map<String, Tensor> t = tensors();
    String p = "batch" + k + ".";
    return new TrainingBatch(t.get(p + "rgb"), t.get(p + "val_mask"), t.get(p + "metric"), t.get(p + "normals"));
  }

  @Override
  public TrainingBatch next() {
    return batchAt.apply(position++);
  }

  @Override
  public long position() {
    return position;
  }

  @Override
  public void seek(long position) {
    this.position = position;
  }
}
