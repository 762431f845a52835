package marigold4j.models.unet;

import marigold4j.nn.Conv2d;
import marigold4j.nn.GroupNorm;
import marigold4j.nn.Linear;
import marigold4j.nn.Module;
import marigold4j.nn.ModuleList;
import marigold4j.torch.F;
import marigold4j.torch.Scopes;
import org.bytedeco.pytorch.Tensor;

/**
 * diffusers' {@code Transformer2DModel} for continuous (feature-map) input: GroupNorm (eps 1e-6), projection in,
 * a stack of {@link BasicTransformerBlock}s over the H*W tokens, projection out, plus the input. The projections are
 * linear layers on tokens ({@code use_linear_projection}, SD2) or 1x1 convolutions on the map (SD1-style).
 */
public final class Transformer2DModel extends Module {
  private final GroupNorm norm;
  private final Linear linearIn;
  private final Conv2d convIn;
  private final ModuleList<BasicTransformerBlock> transformerBlocks;
  private final Linear linearOut;
  private final Conv2d convOut;

  /**
   * @param heads attention heads; the inner width is {@code heads * headDim}
   * @param inChannels channels of the feature map (also the output channels)
   * @param numLayers number of transformer blocks
   * @param normGroups groups of the input GroupNorm
   */
  public Transformer2DModel(int heads, long headDim, long inChannels, int numLayers, long crossAttentionDim,
      int normGroups, boolean useLinearProjection, boolean upcastAttention) {
    long inner = heads * headDim;
    norm = child("norm", new GroupNorm(normGroups, inChannels, 1e-6));
    linearIn = useLinearProjection ? child("proj_in", new Linear(inChannels, inner, true)) : null;
    convIn = useLinearProjection ? null : child("proj_in", new Conv2d(inChannels, inner, 1, 1, 0));
    transformerBlocks = child("transformer_blocks", new ModuleList<>());
    for (int i = 0; i < numLayers; i++) {
      transformerBlocks.add(new BasicTransformerBlock(inner, heads, headDim, crossAttentionDim, upcastAttention));
    }
    linearOut = useLinearProjection ? child("proj_out", new Linear(inner, inChannels, true)) : null;
    convOut = useLinearProjection ? null : child("proj_out", new Conv2d(inner, inChannels, 1, 1, 0));
  }

  /** Switches every transformer block's self-attention (see {@link BasicTransformerBlock#setJointSelfAttention}). */
  public void setJointSelfAttention(boolean joint) {
    for (BasicTransformerBlock block : transformerBlocks) block.setJointSelfAttention(joint);
  }

  /**
   * @param x (B, C, H, W)
   * @param context (B, S, crossAttentionDim) encoder hidden states
   * @return (B, C, H, W), reported as {@code 0} (the reference returns a 1-tuple)
   */
  public Tensor forward(Tensor x, Tensor context) {
    long b = x.size(0);
    long height = x.size(2);
    long width = x.size(3);
    Tensor normed = norm.forward(x);
    Tensor h = convIn == null ? normed : convIn.forward(normed);                  // (B, inner, H, W)
    long c = h.size(1);
    Tensor tokens = h.permute(0, 2, 3, 1).reshape(b, height * width, c);          // (B, HW, c)
    h = linearIn == null ? tokens : linearIn.forward(tokens);                     // (B, HW, inner)
    boolean free = !reporting();                  // intermediates are released once consumed unless reported
    if (free) Scopes.release(tokens != h ? tokens : null, normed);
    for (int i = 0; i < transformerBlocks.size(); i++) {
      Tensor next = transformerBlocks.get(i).forward(h, context);
      report("transformer_blocks", i, next);
      if (free) Scopes.release(h);
      h = next;
    }
    Tensor projected = linearOut == null ? h : linearOut.forward(h);             // (B, HW, C)
    long out = projected.size(2);
    Tensor map = projected.reshape(b, height, width, out).permute(0, 3, 1, 2).contiguous();   // (B, C|inner, H, W)
    Tensor y = convOut == null ? map : convOut.forward(map);                      // (B, C, H, W)
    if (free) Scopes.release(h, projected != h ? projected : null, map != y ? map : null);
    Tensor result = F.addConsume(y, x);
    report("0", result);
    return result;
  }
}
