package marigold4j.models.unet;

import java.util.List;
import marigold4j.models.blocks.ResnetBlock2D;
import marigold4j.models.blocks.Upsample2D;
import marigold4j.nn.Module;
import marigold4j.nn.ModuleList;
import marigold4j.torch.F;
import marigold4j.torch.Scopes;
import org.bytedeco.pytorch.Tensor;

/** diffusers' {@code UpBlock2D}: resnets over (hidden, skip) concatenations, then an optional upsampler. */
public final class UpBlock2D extends Module implements UNetUpBlock {
  private final ModuleList<ResnetBlock2D> resnets;
  private final ModuleList<Upsample2D> upsamplers;

  /**
   * @param in channels of the deepest skip connection this block consumes (its last resnet's skip width)
   * @param prevOut channels of the hidden states coming from the previous up block (or the mid block)
   * @param numLayers resnets (layers_per_block + 1)
   */
  public UpBlock2D(long in, long prevOut, long out, long tembChannels, int numLayers, boolean addUpsample, int groups,
      double eps) {
    resnets = child("resnets", new ModuleList<>());
    for (int i = 0; i < numLayers; i++) {
      long skipChannels = i == numLayers - 1 ? in : out;
      long resnetIn = i == 0 ? prevOut : out;
      resnets.add(new ResnetBlock2D(resnetIn + skipChannels, out, tembChannels, groups, eps));
    }
    upsamplers = addUpsample ? child("upsamplers", new ModuleList<>()) : null;
    if (upsamplers != null) upsamplers.add(new Upsample2D(out));
  }

  @Override
  public int numResnets() {
    return resnets.size();
  }

  @Override
  public Tensor forward(Tensor x, Tensor temb, Tensor context, List<Tensor> skips, long[] upsampleSize) {
    boolean free = !reporting();                 // intermediates are released once consumed unless reported
    Tensor h = x;
    for (int i = 0; i < resnets.size(); i++) {
      Tensor skip = skips.get(skips.size() - 1 - i);
      Tensor joined = F.cat(1, h, skip);                            // (B, C + Cskip, H, W)
      if (free && h != x) Scopes.release(h);
      h = resnets.get(i).forward(joined, temb);                      // (B, out, H, W)
      if (free) Scopes.release(joined);
      report("resnets", i, h);
    }
    if (upsamplers != null) {
      Tensor up = upsamplers.get(0).forward(h, upsampleSize);
      if (free && h != x) Scopes.release(h);
      h = up;
      report("upsamplers", 0, h);
    }
    return h;
  }
}
