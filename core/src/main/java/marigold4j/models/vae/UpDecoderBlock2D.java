package marigold4j.models.vae;

import marigold4j.models.blocks.ResnetBlock2D;
import marigold4j.models.blocks.Upsample2D;
import marigold4j.nn.Module;
import marigold4j.nn.ModuleList;
import marigold4j.torch.Scopes;
import org.bytedeco.pytorch.Tensor;

/** diffusers' {@code UpDecoderBlock2D}: resnets without time embedding, then an optional x2 upsampler. */
public final class UpDecoderBlock2D extends Module {
  private final ModuleList<ResnetBlock2D> resnets;
  private final ModuleList<Upsample2D> upsamplers;

  public UpDecoderBlock2D(long in, long out, int layers, boolean addUpsample, int groups, double eps) {
    resnets = child("resnets", new ModuleList<>());
    for (int i = 0; i < layers; i++) resnets.add(new ResnetBlock2D(i == 0 ? in : out, out, null, groups, eps));
    upsamplers = addUpsample ? child("upsamplers", new ModuleList<>()) : null;
    if (upsamplers != null) upsamplers.add(new Upsample2D(out));
  }

  /** (B, in, H, W) -> (B, out, 2H, 2W), or (B, out, H, W) for the last block. */
  public Tensor forward(Tensor x) {
    // Each layer's output is released once the next has consumed it: at 768x576 one is 226-453 MB in fp32.
    Tensor h = x;
    for (ResnetBlock2D r : resnets) h = Scopes.chain(h, r.forward(h, null), x);
    if (upsamplers != null) h = Scopes.chain(h, upsamplers.get(0).forward(h, null), x);
    return h;
  }
}
