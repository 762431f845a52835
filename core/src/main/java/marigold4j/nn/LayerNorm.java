package marigold4j.nn;

import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;

/** torch.nn.LayerNorm over the last dimension, with affine weight and bias. */
public final class LayerNorm extends Module {
  private final Parameter weight;
  private final Parameter bias;
  private final double eps;

  public LayerNorm(long dim, double eps) {
    this.weight = parameter("weight", dim);
    this.bias = parameter("bias", dim);
    this.eps = eps;
  }

  public Tensor forward(Tensor x) {
    return F.layerNorm(x, weight.get(), bias.get(), eps);
  }
}
