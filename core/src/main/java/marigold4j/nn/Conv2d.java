package marigold4j.nn;

import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;

/** torch.nn.Conv2d with a square kernel, symmetric padding and a bias. */
public final class Conv2d extends Module {
  private final Parameter weight;
  private final Parameter bias;
  private final long stride;
  private final long padding;

  public Conv2d(long in, long out, long kernel, long stride, long padding) {
    this(in, out, kernel, stride, padding, true);
  }

  public Conv2d(long in, long out, long kernel, long stride, long padding, boolean bias) {
    this.weight = parameter("weight", out, in, kernel, kernel);
    this.bias = bias ? parameter("bias", out) : null;
    this.stride = stride;
    this.padding = padding;
  }

  public Tensor forward(Tensor x) {                      // (B, in, H, W) -> (B, out, H', W')
    return F.conv2d(x, weight.get(), bias == null ? null : bias.get(), stride, padding);
  }

  public Parameter weight() {
    return weight;
  }

  public Parameter bias() {
    return bias;
  }
}
