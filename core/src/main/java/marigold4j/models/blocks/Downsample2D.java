package marigold4j.models.blocks;

import marigold4j.nn.Conv2d;
import marigold4j.nn.Module;
import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;

/** diffusers' {@code Downsample2D} with {@code use_conv=True}: a 3x3 convolution of stride 2 named {@code conv}. */
public final class Downsample2D extends Module {
  private final Conv2d conv;
  private final long padding;

  /**
   * @param padding the convolution's symmetric padding: 1 in the UNet; 0 in the VAE, where the input is first padded
   *     by one on the right and bottom only (so each level maps n to (n - 2) / 2 + 1, floored)
   */
  public Downsample2D(long channels, long padding) {
    this.conv = child("conv", new Conv2d(channels, channels, 3, 2, padding));
    this.padding = padding;
  }

  /** (B, C, H, W) -> (B, C, H', W'). */
  public Tensor forward(Tensor x) {
    // The original LDM encoder pads asymmetrically; diffusers keeps that for padding == 0.
    Tensor h = padding == 0 ? F.pad2d(x, 0, 1, 0, 1) : x;
    return conv.forward(h);
  }
}
