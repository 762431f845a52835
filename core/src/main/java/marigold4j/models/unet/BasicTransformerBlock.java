package marigold4j.models.unet;

import marigold4j.models.blocks.Attention;
import marigold4j.nn.LayerNorm;
import marigold4j.nn.Module;
import marigold4j.torch.F;
import marigold4j.torch.Scopes;
import org.bytedeco.pytorch.Tensor;

/**
 * diffusers' {@code BasicTransformerBlock} as the SD2 UNet configures it (layer norms with eps 1e-5, no attention
 * biases in q/k/v, GEGLU feed-forward): pre-norm self-attention, cross-attention to the encoder hidden states, and
 * feed-forward, each added back to its input.
 */
public final class BasicTransformerBlock extends Module {
  private final LayerNorm norm1;
  private final Attention attn1;
  private final LayerNorm norm2;
  private final Attention attn2;
  private final LayerNorm norm3;
  private final FeedForward ff;

  /**
   * @param dim token width ({@code heads * headDim})
   * @param crossAttentionDim width of the encoder hidden states
   */
  public BasicTransformerBlock(long dim, int heads, long headDim, long crossAttentionDim, boolean upcastAttention) {
    norm1 = child("norm1", new LayerNorm(dim, 1e-5));
    attn1 = child("attn1", new Attention(dim, null, heads, headDim, false, upcastAttention, null, 1e-5, false));
    norm2 = child("norm2", new LayerNorm(dim, 1e-5));
    attn2 = child("attn2",
        new Attention(dim, crossAttentionDim, heads, headDim, false, upcastAttention, null, 1e-5, false));
    norm3 = child("norm3", new LayerNorm(dim, 1e-5));
    ff = child("ff", new FeedForward(dim, 4));
  }

  /**
   * Switches {@code attn1} between self-attention per sample and GeoWizard's joint attention over the two batch
   * halves (see {@link Attention#setJointAttention(boolean)}); {@code attn2} (cross-attention) is never joint.
   */
  public void setJointSelfAttention(boolean joint) {
    attn1.setJointAttention(joint);
  }

  /**
   * @param x (B, L, dim) tokens
   * @param context (B, S, crossAttentionDim) encoder hidden states
   * @return (B, L, dim)
   */
  public Tensor forward(Tensor x, Tensor context) {
    // branch + input (diffusers' order); each intermediate is released once consumed
    Tensor n1 = norm1.forward(x);
    Tensor h1 = F.addConsume(attn1.forward(n1, null), x);
    Scopes.release(n1);
    Tensor n2 = norm2.forward(h1);
    Tensor h2 = F.addConsume(attn2.forward(n2, context), h1);
    Scopes.release(n2, h1);
    Tensor n3 = norm3.forward(h2);
    Tensor h3 = F.addConsume(ff.forward(n3), h2);
    Scopes.release(n3, h2);
    return h3;
  }
}
