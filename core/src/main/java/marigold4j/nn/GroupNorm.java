package marigold4j.nn;

import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;

/** torch.nn.GroupNorm with affine weight and bias. */
public final class GroupNorm extends Module {
  private final Parameter weight;
  private final Parameter bias;
  private final long groups;
  private final double eps;

  public GroupNorm(long groups, long channels, double eps) {
    if (channels % groups != 0) {
      throw new IllegalArgumentException(channels + " channels are not divisible into " + groups + " groups");
    }
    this.weight = parameter("weight", channels);
    this.bias = parameter("bias", channels);
    this.groups = groups;
    this.eps = eps;
  }

  public Tensor forward(Tensor x) {
    return F.groupNorm(x, groups, weight.get(), bias.get(), eps);
  }
}
