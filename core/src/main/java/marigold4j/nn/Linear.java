package marigold4j.nn;

import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;

/** torch.nn.Linear: weight (out, in), optional bias (out). */
public final class Linear extends Module {
  private final Parameter weight;
  private final Parameter bias;

  public Linear(long in, long out, boolean bias) {
    this.weight = parameter("weight", out, in);
    this.bias = bias ? parameter("bias", out) : null;
  }

  public Tensor forward(Tensor x) {                      // x: (..., in) -> (..., out)
    return F.linear(x, weight.get(), bias == null ? null : bias.get());
  }
}
