package marigold4j.models.blocks;

import marigold4j.nn.Conv2d;
import marigold4j.nn.GroupNorm;
import marigold4j.nn.Linear;
import marigold4j.nn.Module;
import marigold4j.torch.F;
import marigold4j.torch.Scopes;
import org.bytedeco.pytorch.Tensor;

/**
 * diffusers' {@code ResnetBlock2D} in the configuration the SD2 UNet and VAE use: SiLU, output scale factor 1,
 * {@code time_embedding_norm="default"} (the time embedding is added, not used as scale/shift), no up/down-sampling
 * inside the block, and a 1x1 {@code conv_shortcut} exactly when the channel count changes.
 */
public final class ResnetBlock2D extends Module {
  private final GroupNorm norm1;
  private final Conv2d conv1;
  private final Linear timeEmbProj;
  private final GroupNorm norm2;
  private final Conv2d conv2;
  private final Conv2d convShortcut;

  /**
   * @param tembChannels width of the time embedding, or {@code null} for a block without {@code time_emb_proj}
   *     (the VAE's)
   * @param groups group count of both GroupNorms
   * @param eps epsilon of both GroupNorms (1e-5 in the UNet, 1e-6 in the VAE)
   */
  public ResnetBlock2D(long in, long out, Long tembChannels, int groups, double eps) {
    // Registration order is diffusers' attribute order, which is the state dict's key order.
    norm1 = child("norm1", new GroupNorm(groups, in, eps));
    conv1 = child("conv1", new Conv2d(in, out, 3, 1, 1));
    timeEmbProj = tembChannels == null ? null : child("time_emb_proj", new Linear(tembChannels, out, true));
    norm2 = child("norm2", new GroupNorm(groups, out, eps));
    conv2 = child("conv2", new Conv2d(out, out, 3, 1, 1));
    convShortcut = in == out ? null : child("conv_shortcut", new Conv2d(in, out, 1, 1, 0));
  }

  /**
   * @param x (B, in, H, W)
   * @param temb (B, tembChannels), or {@code null}; ignored when the block has no {@code time_emb_proj}, as in
   *     diffusers
   * @return (B, out, H, W)
   */
  public Tensor forward(Tensor x, Tensor temb) {
    // Each intermediate is released as soon as the next op has consumed it, as Python's reference counting does.
    Tensor a = F.siluConsume(norm1.forward(x));
    Tensor h = conv1.forward(a);
    Scopes.release(a);
    if (timeEmbProj != null && temb != null) {
      Tensor t = timeEmbProj.forward(F.silu(temb));                   // (B, out)
      h = F.addConsume(h, t.unsqueeze(-1).unsqueeze(-1));             // (B, out, 1, 1) broadcast over H, W
    }
    Tensor b = F.siluConsume(norm2.forward(h));                      // dropout is the identity at inference
    Scopes.release(h);
    h = conv2.forward(b);
    Scopes.release(b);
    if (convShortcut == null) return F.addConsume(h, x);           // x + h (addition commutes exactly)
    Tensor shortcut = convShortcut.forward(x);
    Tensor out = F.addConsume(shortcut, h);
    Scopes.release(h);
    return out;
  }
}
