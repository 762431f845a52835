package marigold4j.models.vae;

import marigold4j.models.blocks.Downsample2D;
import marigold4j.models.blocks.ResnetBlock2D;
import marigold4j.nn.Module;
import marigold4j.nn.ModuleList;
import marigold4j.torch.Scopes;
import org.bytedeco.pytorch.Tensor;

/** diffusers' {@code DownEncoderBlock2D}: resnets without time embedding, then an optional padded downsampler. */
public final class DownEncoderBlock2D extends Module {
  private final ModuleList<ResnetBlock2D> resnets;
  private final ModuleList<Downsample2D> downsamplers;

  public DownEncoderBlock2D(long in, long out, int layers, boolean addDownsample, int groups, double eps) {
    resnets = child("resnets", new ModuleList<>());
    for (int i = 0; i < layers; i++) resnets.add(new ResnetBlock2D(i == 0 ? in : out, out, null, groups, eps));
    // The encoder's downsample_padding is 0: Downsample2D pads right/bottom only (n -> (n - 2) / 2 + 1).
    downsamplers = addDownsample ? child("downsamplers", new ModuleList<>()) : null;
    if (downsamplers != null) downsamplers.add(new Downsample2D(out, 0));
  }

  /** (B, in, H, W) -> (B, out, H', W'). */
  public Tensor forward(Tensor x) {
    // Each layer's output is released once the next has consumed it: at 768x576 one is 226 MB in fp32.
    Tensor h = x;
    for (ResnetBlock2D r : resnets) h = Scopes.chain(h, r.forward(h, null), x);
    if (downsamplers != null) h = Scopes.chain(h, downsamplers.get(0).forward(h), x);
    return h;
  }
}
