package marigold4j.nn;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** torch.nn.Embedding: a (num, dim) lookup table. */
public final class Embedding extends Module {
  private final Parameter weight;

  public Embedding(long num, long dim) {
    this.weight = parameter("weight", num, dim);
  }

  public Tensor forward(Tensor ids) {                    // (...) int64 -> (..., dim)
    return torch.embedding(weight.get(), ids);
  }
}
