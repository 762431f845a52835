package marigold4j.models.unet;

import marigold4j.models.blocks.ResnetBlock2D;
import marigold4j.nn.Module;
import marigold4j.nn.ModuleList;
import marigold4j.torch.Scopes;
import org.bytedeco.pytorch.Tensor;

/** diffusers' {@code UNetMidBlock2DCrossAttn} with one layer: resnet, transformer, resnet, at constant width. */
public final class UNetMidBlock2DCrossAttn extends Module {
  private final ModuleList<Transformer2DModel> attentions;
  private final ModuleList<ResnetBlock2D> resnets;

  public UNetMidBlock2DCrossAttn(long channels, long tembChannels, int transformerLayers, int groups, double eps,
      int heads, long crossAttentionDim, boolean useLinearProjection, boolean upcastAttention) {
    attentions = child("attentions", new ModuleList<>());
    resnets = child("resnets", new ModuleList<>());
    resnets.add(new ResnetBlock2D(channels, channels, tembChannels, groups, eps));
    attentions.add(new Transformer2DModel(heads, channels / heads, channels, transformerLayers, crossAttentionDim,
        groups, useLinearProjection, upcastAttention));
    resnets.add(new ResnetBlock2D(channels, channels, tembChannels, groups, eps));
  }

  /** Switches the self-attention of its transformers (see {@link BasicTransformerBlock#setJointSelfAttention}). */
  public void setJointSelfAttention(boolean joint) {
    for (Transformer2DModel t : attentions) t.setJointSelfAttention(joint);
  }

  /** (B, C, H, W) -> (B, C, H, W). */
  public Tensor forward(Tensor x, Tensor temb, Tensor context) {
    boolean free = !reporting();                 // intermediates are released once consumed unless reported
    Tensor h = resnets.get(0).forward(x, temb);
    report("resnets", 0, h);
    for (int i = 0; i < attentions.size(); i++) {
      Tensor a = attentions.get(i).forward(h, context);
      if (free) Scopes.release(h);
      h = resnets.get(i + 1).forward(a, temb);
      if (free) Scopes.release(a);
      report("resnets", i + 1, h);
    }
    return h;
  }
}
