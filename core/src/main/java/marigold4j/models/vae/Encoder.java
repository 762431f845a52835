package marigold4j.models.vae;

import java.util.List;
import marigold4j.nn.Conv2d;
import marigold4j.nn.GroupNorm;
import marigold4j.nn.Module;
import marigold4j.nn.ModuleList;
import marigold4j.torch.F;
import marigold4j.torch.Scopes;
import org.bytedeco.pytorch.Tensor;

/** diffusers' VAE {@code Encoder}: image to the 2 x latent_channels moments (mean and log-variance), before quant_conv. */
public final class Encoder extends Module {
  /** diffusers hard-codes this epsilon for every norm of the VAE. */
  static final double EPS = 1e-6;

  private final Conv2d convIn;
  private final ModuleList<DownEncoderBlock2D> downBlocks;
  private final UNetMidBlock2D midBlock;
  private final GroupNorm convNormOut;
  private final Conv2d convOut;

  public Encoder(AutoencoderKLConfig c) {
    List<Integer> ch = c.blockOutChannels();
    int groups = c.normNumGroups();
    convIn = child("conv_in", new Conv2d(c.inChannels(), ch.get(0), 3, 1, 1));
    downBlocks = child("down_blocks", new ModuleList<>());
    long out = ch.get(0);
    for (int i = 0; i < ch.size(); i++) {
      long in = out;
      out = ch.get(i);
      boolean last = i == ch.size() - 1;
      downBlocks.add(new DownEncoderBlock2D(in, out, c.layersPerBlock(), !last, groups, EPS));
    }
    long top = ch.get(ch.size() - 1);
    midBlock = child("mid_block", new UNetMidBlock2D(top, groups, EPS, c.midBlockAddAttention()));
    convNormOut = child("conv_norm_out", new GroupNorm(groups, top, EPS));
    // double_z: the encoder predicts a mean and a log-variance per latent channel.
    convOut = child("conv_out", new Conv2d(top, 2L * c.latentChannels(), 3, 1, 1));
  }

  /**
   * (B, in, H, W) -> (B, 2 * latent, H / f, W / f) with f the downsampling factor (floored per level). Each stage's
   * output is reported under its module name ({@code conv_in}, {@code down_blocks.i}, {@code mid_block},
   * {@code conv_norm_out}, {@code conv_out}) to an open {@link #hook}.
   */
  public Tensor forward(Tensor x) {
    // Stage outputs are released once consumed, unless reported to a hook (whose sink may keep them).
    boolean keep = reporting();
    Tensor h = stage("conv_in", convIn.forward(x));
    for (int i = 0; i < downBlocks.size(); i++) {
      h = next(keep, h, stage("down_blocks." + i, downBlocks.get(i).forward(h)));
    }
    h = next(keep, h, stage("mid_block", midBlock.forward(h)));
    h = next(keep, h, stage("conv_norm_out", convNormOut.forward(h)));
    h = keep ? F.silu(h) : F.siluConsume(h);
    return next(keep, h, stage("conv_out", convOut.forward(h)));
  }

  /** {@code next}, releasing {@code previous} unless a hook's sink may hold it. */
  static Tensor next(boolean keep, Tensor previous, Tensor next) {
    if (!keep && previous != next) Scopes.release(previous);
    return next;
  }

  private Tensor stage(String name, Tensor t) {
    report(name, t);
    return t;
  }
}
