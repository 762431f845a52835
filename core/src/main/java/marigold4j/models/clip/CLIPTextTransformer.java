package marigold4j.models.clip;

import java.util.List;
import marigold4j.nn.LayerNorm;
import marigold4j.nn.Module;
import org.bytedeco.pytorch.Tensor;

/** transformers' CLIPTextTransformer: embeddings, causal encoder, final layer norm. */
final class CLIPTextTransformer extends Module {
  private final CLIPTextEmbeddings embeddings;
  private final CLIPEncoder encoder;
  private final LayerNorm finalLayerNorm;

  CLIPTextTransformer(CLIPTextConfig c) {
    this.embeddings = child("embeddings", new CLIPTextEmbeddings(c.vocabSize(), c.hiddenSize(),
        c.maxPositionEmbeddings()));
    this.encoder = child("encoder", new CLIPEncoder(c.hiddenSize(), c.intermediateSize(), c.numAttentionHeads(),
        c.numHiddenLayers(), c.layerNormEps(), c.activation()));
    this.finalLayerNorm = child("final_layer_norm", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
  }

  /** ids: (B, L) -> last_hidden_state (B, L, D), after the final layer norm. */
  Tensor forward(Tensor ids, List<Tensor> hiddenStates) {
    return finalLayerNorm.forward(encoder.forward(embeddings.forward(ids), true, hiddenStates));
  }
}
