package marigold4j.models.unet;

import java.util.List;
import org.bytedeco.pytorch.Tensor;

/** A down block of {@link UNet2DConditionModel}: {@link CrossAttnDownBlock2D} or {@link DownBlock2D}. */
public interface UNetDownBlock {
  /**
   * @param x (B, Cin, H, W)
   * @param temb (B, timeEmbedDim) time embedding
   * @param context (B, S, crossAttentionDim) encoder hidden states (unused by blocks without attention)
   * @param skips receives this block's skip connections, in order (one per resnet, plus the downsampled output)
   * @return (B, Cout, H', W'): H' = ceil(H / 2) when the block downsamples, else H
   */
  Tensor forward(Tensor x, Tensor temb, Tensor context, List<Tensor> skips);

  /**
   * Switches the self-attention of the block's transformers (see
   * {@link BasicTransformerBlock#setJointSelfAttention}); blocks without attention ignore it.
   */
  default void setJointSelfAttention(boolean joint) {}
}
