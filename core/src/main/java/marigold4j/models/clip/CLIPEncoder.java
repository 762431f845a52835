package marigold4j.models.clip;

import java.util.List;
import marigold4j.nn.Module;
import marigold4j.nn.ModuleList;
import org.bytedeco.pytorch.Tensor;

/** transformers' CLIPEncoder: the stack of {@link CLIPEncoderLayer}s shared by the text and vision towers. */
final class CLIPEncoder extends Module {
  private final ModuleList<CLIPEncoderLayer> layers = child("layers", new ModuleList<>());

  CLIPEncoder(long dim, long intermediate, long heads, long numLayers, double eps, CLIPActivation act) {
    if (heads <= 0 || dim % heads != 0) {
      throw new IllegalArgumentException("hidden_size " + dim + " is not divisible by num_attention_heads " + heads);
    }
    for (long i = 0; i < numLayers; i++) layers.add(new CLIPEncoderLayer(dim, intermediate, heads, eps, act));
  }

  /**
   * Runs every layer on x: (B, L, D). When {@code hiddenStates} is not null it receives the input followed by each
   * layer's output, as transformers' {@code output_hidden_states} lists them.
   */
  Tensor forward(Tensor x, boolean causal, List<Tensor> hiddenStates) {
    if (hiddenStates != null) hiddenStates.add(x);
    for (CLIPEncoderLayer layer : layers) {
      x = layer.forward(x, causal);
      if (hiddenStates != null) hiddenStates.add(x);
    }
    return x;
  }
}
