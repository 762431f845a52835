package marigold4j.models.clip;

import java.util.List;
import marigold4j.nn.LayerNorm;
import marigold4j.nn.Module;
import org.bytedeco.pytorch.Tensor;

/** transformers' CLIPVisionTransformer: embeddings, pre-norm ({@code pre_layrnorm}, sic), encoder, post-norm. */
final class CLIPVisionTransformer extends Module {
  private final CLIPVisionEmbeddings embeddings;
  private final LayerNorm preLayrnorm;
  private final CLIPEncoder encoder;
  private final LayerNorm postLayernorm;

  CLIPVisionTransformer(CLIPVisionConfig c) {
    this.embeddings = child("embeddings", new CLIPVisionEmbeddings(c));
    this.preLayrnorm = child("pre_layrnorm", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
    this.encoder = child("encoder", new CLIPEncoder(c.hiddenSize(), c.intermediateSize(), c.numAttentionHeads(),
        c.numHiddenLayers(), c.layerNormEps(), c.activation()));
    this.postLayernorm = child("post_layernorm", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
  }

  /** pixels (B, C, S, S) -> last_hidden_state (B, N, D), the encoder output (no norm after it). */
  Tensor forward(Tensor pixels, List<Tensor> hiddenStates) {
    return encoder.forward(preLayrnorm.forward(embeddings.forward(pixels)), false, hiddenStates);
  }

  /** The pooled output: the class token of last_hidden_state, normalised. (B, N, D) -> (B, D). */
  Tensor pool(Tensor lastHiddenState) {
    return postLayernorm.forward(lastHiddenState.select(1, 0));
  }
}
