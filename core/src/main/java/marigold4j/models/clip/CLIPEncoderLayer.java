package marigold4j.models.clip;

import marigold4j.nn.LayerNorm;
import marigold4j.nn.Module;
import org.bytedeco.pytorch.Tensor;

/** transformers' CLIPEncoderLayer: pre-norm attention and MLP, each with a residual connection. */
final class CLIPEncoderLayer extends Module {
  private final CLIPAttention selfAttn;
  private final LayerNorm layerNorm1;
  private final CLIPMLP mlp;
  private final LayerNorm layerNorm2;

  CLIPEncoderLayer(long dim, long intermediate, long heads, double eps, CLIPActivation act) {
    this.selfAttn = child("self_attn", new CLIPAttention(dim, heads));
    this.layerNorm1 = child("layer_norm1", new LayerNorm(dim, eps));
    this.mlp = child("mlp", new CLIPMLP(dim, intermediate, act));
    this.layerNorm2 = child("layer_norm2", new LayerNorm(dim, eps));
  }

  Tensor forward(Tensor x, boolean causal) {             // (B, L, D)
    Tensor h = x.add(selfAttn.forward(layerNorm1.forward(x), causal));
    return h.add(mlp.forward(layerNorm2.forward(h)));
  }
}
