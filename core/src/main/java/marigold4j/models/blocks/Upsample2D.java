package marigold4j.models.blocks;

import marigold4j.nn.Conv2d;
import marigold4j.nn.Module;
import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;

/**
 * diffusers' {@code Upsample2D} with {@code use_conv=True}: nearest-neighbour upsampling (x2, or to the size of the
 * matching skip connection) followed by a 3x3 convolution named {@code conv}.
 */
public final class Upsample2D extends Module {
  private final Conv2d conv;

  public Upsample2D(long channels) {
    this.conv = child("conv", new Conv2d(channels, channels, 3, 1, 1));
  }

  /**
   * @param x (B, C, H, W)
   * @param outputSize {@code {H', W'}}, or {@code null} for {@code {2H, 2W}} (the UNet passes the skip
   *     connection's size when the latent was not divisible)
   * @return (B, C, H', W')
   */
  public Tensor forward(Tensor x, long[] outputSize) {
    long h = outputSize == null ? 2 * x.size(2) : outputSize[0];
    long w = outputSize == null ? 2 * x.size(3) : outputSize[1];
    return conv.forward(F.upsampleNearest(x, h, w));
  }
}
