package marigold4j.models.vae;

import static marigold4j.models.vae.Encoder.EPS;
import static marigold4j.models.vae.Encoder.next;

import java.util.List;
import marigold4j.nn.Conv2d;
import marigold4j.nn.GroupNorm;
import marigold4j.nn.Module;
import marigold4j.nn.ModuleList;
import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;

/** diffusers' VAE {@code Decoder}: latent (after post_quant_conv) to image. */
public final class Decoder extends Module {
  private final Conv2d convIn;
  private final ModuleList<UpDecoderBlock2D> upBlocks;
  private final UNetMidBlock2D midBlock;
  private final GroupNorm convNormOut;
  private final Conv2d convOut;

  public Decoder(AutoencoderKLConfig c) {
    List<Integer> ch = c.blockOutChannels();
    int groups = c.normNumGroups();
    long top = ch.get(ch.size() - 1);
    convIn = child("conv_in", new Conv2d(c.latentChannels(), top, 3, 1, 1));
    // diffusers creates the (empty) up_blocks list before mid_block, so its keys come first in the state dict.
    upBlocks = child("up_blocks", new ModuleList<>());
    midBlock = child("mid_block", new UNetMidBlock2D(top, groups, EPS, c.midBlockAddAttention()));
    long out = top;
    for (int i = 0; i < ch.size(); i++) {
      long in = out;
      out = ch.get(ch.size() - 1 - i);
      boolean last = i == ch.size() - 1;
      // The decoder has one resnet more per block than the encoder.
      upBlocks.add(new UpDecoderBlock2D(in, out, c.layersPerBlock() + 1, !last, groups, EPS));
    }
    convNormOut = child("conv_norm_out", new GroupNorm(groups, ch.get(0), EPS));
    convOut = child("conv_out", new Conv2d(ch.get(0), c.outChannels(), 3, 1, 1));
  }

  /**
   * (B, latent, h, w) -> (B, out, h * f, w * f). Each stage's output is reported ({@code conv_in}, {@code mid_block},
   * {@code up_blocks.i}, {@code conv_norm_out}, {@code conv_out}) to an open {@link #hook}.
   */
  public Tensor forward(Tensor z) {
    // Stage outputs are released once consumed, unless reported to a hook (whose sink may keep them).
    boolean keep = reporting();
    Tensor h = stage("conv_in", convIn.forward(z));
    h = next(keep, h, stage("mid_block", midBlock.forward(h)));
    for (int i = 0; i < upBlocks.size(); i++) {
      h = next(keep, h, stage("up_blocks." + i, upBlocks.get(i).forward(h)));
    }
    h = next(keep, h, stage("conv_norm_out", convNormOut.forward(h)));
    h = keep ? F.silu(h) : F.siluConsume(h);
    return next(keep, h, stage("conv_out", convOut.forward(h)));
  }

  private Tensor stage(String name, Tensor t) {
    report(name, t);
    return t;
  }
}
