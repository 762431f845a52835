package marigold4j.models.unet;

import java.util.List;
import marigold4j.models.blocks.Downsample2D;
import marigold4j.models.blocks.ResnetBlock2D;
import marigold4j.nn.Module;
import marigold4j.nn.ModuleList;
import org.bytedeco.pytorch.Tensor;

/** diffusers' {@code DownBlock2D}: resnets, then an optional stride-2 downsampler. */
public final class DownBlock2D extends Module implements UNetDownBlock {
  private final ModuleList<ResnetBlock2D> resnets;
  private final ModuleList<Downsample2D> downsamplers;

  public DownBlock2D(long in, long out, long tembChannels, int numLayers, boolean addDownsample, int groups,
      double eps, long downsamplePadding) {
    resnets = child("resnets", new ModuleList<>());
    for (int i = 0; i < numLayers; i++) {
      resnets.add(new ResnetBlock2D(i == 0 ? in : out, out, tembChannels, groups, eps));
    }
    downsamplers = addDownsample ? child("downsamplers", new ModuleList<>()) : null;
    if (downsamplers != null) downsamplers.add(new Downsample2D(out, downsamplePadding));
  }

  @Override
  public Tensor forward(Tensor x, Tensor temb, Tensor context, List<Tensor> skips) {
    Tensor h = x;
    for (int i = 0; i < resnets.size(); i++) {
      h = resnets.get(i).forward(h, temb);
      report("resnets", i, h);
      skips.add(h);
    }
    if (downsamplers != null) {
      h = downsamplers.get(0).forward(h);
      report("downsamplers", 0, h);
      skips.add(h);
    }
    return h;
  }
}
