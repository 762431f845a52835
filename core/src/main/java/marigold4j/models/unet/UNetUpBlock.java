package marigold4j.models.unet;

import java.util.List;
import org.bytedeco.pytorch.Tensor;

/** An up block of {@link UNet2DConditionModel}: {@link UpBlock2D} or {@link CrossAttnUpBlock2D}. */
public interface UNetUpBlock {
  /** Number of resnets, which is also the number of skip connections the block consumes. */
  int numResnets();

  /**
   * @param x (B, Cprev, H, W)
   * @param temb (B, timeEmbedDim) time embedding
   * @param context (B, S, crossAttentionDim) encoder hidden states (unused by blocks without attention)
   * @param skips exactly {@link #numResnets()} skip connections in the order the down path produced them; the last
   *     one is concatenated first
   * @param upsampleSize {@code {H', W'}} to upsample to, or {@code null} for x2
   * @return (B, Cout, H', W') when the block upsamples, else (B, Cout, H, W)
   */
  Tensor forward(Tensor x, Tensor temb, Tensor context, List<Tensor> skips, long[] upsampleSize);

  /**
   * Switches the self-attention of the block's transformers (see
   * {@link BasicTransformerBlock#setJointSelfAttention}); blocks without attention ignore it.
   */
  default void setJointSelfAttention(boolean joint) {}
}
