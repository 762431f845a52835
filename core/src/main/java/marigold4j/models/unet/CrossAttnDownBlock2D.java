package marigold4j.models.unet;

import java.util.List;
import marigold4j.models.blocks.Downsample2D;
import marigold4j.models.blocks.ResnetBlock2D;
import marigold4j.nn.Module;
import marigold4j.nn.ModuleList;
import marigold4j.torch.Scopes;
import org.bytedeco.pytorch.Tensor;

/** diffusers' {@code CrossAttnDownBlock2D}: (resnet, transformer) pairs, then an optional stride-2 downsampler. */
public final class CrossAttnDownBlock2D extends Module implements UNetDownBlock {
  private final ModuleList<Transformer2DModel> attentions;
  private final ModuleList<ResnetBlock2D> resnets;
  private final ModuleList<Downsample2D> downsamplers;

  /**
   * @param heads attention heads of the block's transformers (head size {@code out / heads})
   * @param transformerLayers transformer blocks per {@link Transformer2DModel}
   */
  public CrossAttnDownBlock2D(long in, long out, long tembChannels, int numLayers, int transformerLayers,
      boolean addDownsample, int groups, double eps, int heads, long crossAttentionDim, boolean useLinearProjection,
      boolean upcastAttention, long downsamplePadding) {
    // diffusers registers the attentions before the resnets, which fixes the state dict's key order.
    attentions = child("attentions", new ModuleList<>());
    resnets = child("resnets", new ModuleList<>());
    for (int i = 0; i < numLayers; i++) {
      resnets.add(new ResnetBlock2D(i == 0 ? in : out, out, tembChannels, groups, eps));
      attentions.add(new Transformer2DModel(heads, out / heads, out, transformerLayers, crossAttentionDim, groups,
          useLinearProjection, upcastAttention));
    }
    downsamplers = addDownsample ? child("downsamplers", new ModuleList<>()) : null;
    if (downsamplers != null) downsamplers.add(new Downsample2D(out, downsamplePadding));
  }

  @Override
  public void setJointSelfAttention(boolean joint) {
    for (Transformer2DModel t : attentions) t.setJointSelfAttention(joint);
  }

  @Override
  public Tensor forward(Tensor x, Tensor temb, Tensor context, List<Tensor> skips) {
    Tensor h = x;
    for (int i = 0; i < resnets.size(); i++) {
      Tensor r = resnets.get(i).forward(h, temb);
      report("resnets", i, r);
      h = attentions.get(i).forward(r, context);
      if (!reporting()) Scopes.release(r);                  // not a skip connection: free it once consumed
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
