package marigold4j.models.vae;

import marigold4j.models.blocks.Attention;
import marigold4j.models.blocks.ResnetBlock2D;
import marigold4j.nn.Module;
import marigold4j.nn.ModuleList;
import marigold4j.torch.Scopes;
import org.bytedeco.pytorch.Tensor;

/**
 * diffusers' {@code UNetMidBlock2D} as the VAE builds it: resnet, then (attention, resnet) once, all without a time
 * embedding. The attention is single-head over all pixels (diffusers passes {@code attention_head_dim = channels}),
 * with group norm and a residual connection.
 */
public final class UNetMidBlock2D extends Module {
  private final ModuleList<Attention> attentions;
  private final ModuleList<ResnetBlock2D> resnets;

  public UNetMidBlock2D(long channels, int groups, double eps, boolean addAttention) {
    // diffusers assigns self.attentions before self.resnets, hence this registration order.
    attentions = child("attentions", new ModuleList<>());
    resnets = child("resnets", new ModuleList<>());
    resnets.add(new ResnetBlock2D(channels, channels, null, groups, eps));
    if (addAttention) attentions.add(new Attention(channels, null, 1, channels, true, false, groups, eps, true));
    resnets.add(new ResnetBlock2D(channels, channels, null, groups, eps));
  }

  /** (B, C, H, W) -> (B, C, H, W). */
  public Tensor forward(Tensor x) {
    Tensor h = resnets.get(0).forward(x, null);
    if (!attentions.isEmpty()) h = Scopes.chain(h, attentions.get(0).forward(h, null), x);
    return Scopes.chain(h, resnets.get(1).forward(h, null), x);
  }
}
