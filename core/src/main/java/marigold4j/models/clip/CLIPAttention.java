package marigold4j.models.clip;

import marigold4j.nn.Linear;
import marigold4j.nn.Module;
import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;

/** transformers' CLIPAttention: multi-head self-attention with biased q/k/v/out projections. */
final class CLIPAttention extends Module {
  // Registration order follows transformers (k, v, q, out), which is the state dict's order.
  private final Linear kProj;
  private final Linear vProj;
  private final Linear qProj;
  private final Linear outProj;
  private final long heads;
  private final long headDim;

  CLIPAttention(long dim, long heads) {
    this.kProj = child("k_proj", new Linear(dim, dim, true));
    this.vProj = child("v_proj", new Linear(dim, dim, true));
    this.qProj = child("q_proj", new Linear(dim, dim, true));
    this.outProj = child("out_proj", new Linear(dim, dim, true));
    this.heads = heads;
    this.headDim = dim / heads;
  }

  /** x: (B, L, D); {@code causal} masks every token from attending to later ones (the text tower). */
  Tensor forward(Tensor x, boolean causal) {
    long b = x.size(0);
    long l = x.size(1);
    Tensor q = qProj.forward(x).reshape(b, l, heads, headDim).transpose(1, 2);   // (B, H, L, hd)
    Tensor k = kProj.forward(x).reshape(b, l, heads, headDim).transpose(1, 2);
    Tensor v = vProj.forward(x).reshape(b, l, heads, headDim).transpose(1, 2);
    Tensor o = F.attention(q, k, v, null, causal, Math.pow(headDim, -0.5));       // (B, H, L, hd)
    return outProj.forward(o.transpose(1, 2).reshape(b, l, heads * headDim));     // (B, L, D)
  }
}
