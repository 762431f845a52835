package marigold4j.train;

import java.util.Map;
import marigold4j.testing.Golden;
import marigold4j.weights.SafeTensors;
import org.bytedeco.pytorch.Tensor;

/** The recorded micro-batches of {@code testdata/training/batches.safetensors}: micro-batch k is {@code batch<k>.*}. */
final class FixtureBatches implements BatchSource {
  private static Map<String, Tensor> tensors;
  private long position;

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

  /** Cycles through the recorded batches in order. */
  @Override
  public TrainingBatch next() {
    return batch((int) (position++ % count()));
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
