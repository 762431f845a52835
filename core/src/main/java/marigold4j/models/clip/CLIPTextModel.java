package marigold4j.models.clip;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import marigold4j.nn.Module;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * transformers' {@code CLIPTextModel}, the text encoder of Stable Diffusion 2 and Marigold. Parameters carry the
 * checkpoint's names ({@code text_model.encoder.layers.N.self_attn.q_proj.weight}, ...), so a
 * {@code text_encoder/} folder loads strictly without renaming. The pipelines use {@link #forward(Tensor)}, the
 * {@code last_hidden_state}.
 */
public final class CLIPTextModel extends Module {
  private final CLIPTextConfig config;
  private final CLIPTextTransformer textModel;

  /**
   * Everything the text tower computes.
   *
   * @param lastHiddenState (B, L, D), after the final layer norm
   * @param poolerOutput (B, D): last_hidden_state at each sequence's EOS position
   * @param hiddenStates the embeddings followed by each encoder layer's output (before the final layer norm), or an
   *     empty list when not requested
   */
  public record Output(Tensor lastHiddenState, Tensor poolerOutput, List<Tensor> hiddenStates) {}

  private CLIPTextModel(CLIPTextConfig config) {
    this.config = config;
    this.textModel = child("text_model", new CLIPTextTransformer(config));
  }

  /** The module tree for {@code config}, with empty parameter slots (nothing is allocated). */
  public static CLIPTextModel fromConfig(CLIPTextConfig config) {
    config.validate();
    return new CLIPTextModel(config);
  }

  /** Loads {@code config.json} and the weights of a {@code text_encoder/} folder in fp32. */
  public static CLIPTextModel load(Path componentDir) {
    return load(componentDir, torch.ScalarType.Float);
  }

  /** Loads {@code config.json} and the weights of a {@code text_encoder/} folder, converted to {@code dtype}. */
  public static CLIPTextModel load(Path componentDir, torch.ScalarType dtype) {
    return CLIPCheckpoints.load(componentDir, dtype, CLIPTextConfig::read, CLIPTextModel::fromConfig);
  }

  public CLIPTextConfig config() {
    return config;
  }

  /** ids: (B, L) int64 -> last_hidden_state (B, L, D). */
  public Tensor forward(Tensor ids) {
    return textModel.forward(ids, null);
  }

  /** ids: (B, L) int64 -> last_hidden_state, pooled output and, if asked, every hidden state. */
  public Output forward(Tensor ids, boolean outputHiddenStates) {
    List<Tensor> hidden = outputHiddenStates ? new ArrayList<>() : null;
    Tensor last = textModel.forward(ids, hidden);
    return new Output(last, pool(last, ids), hidden == null ? List.of() : List.copyOf(hidden));
  }

  /** last_hidden_state at each row's EOS token. */
  private Tensor pool(Tensor last, Tensor ids) {
    long b = ids.size(0);
    long len = ids.size(1);
    long[] flat = Tensors.toLongs(ids);
    long[] positions = new long[(int) b];
    for (int r = 0; r < b; r++) {
      // eos_token_id 2 is the legacy config value: transformers then takes the largest id (EOS is the largest in
      // CLIP's vocabulary); otherwise the first position holding eos_token_id. Ties resolve to the first, as argmax.
      int best = 0;
      for (int i = 0; i < len; i++) {
        long id = flat[(int) (r * len + i)];
        if (config.eosTokenId() == 2 ? id > flat[(int) (r * len + best)] : id == config.eosTokenId()) {
          best = i;
          if (config.eosTokenId() != 2) break;
        }
      }
      positions[r] = best;
    }
    long d = last.size(2);
    Tensor index = Tensors.fromLongs(positions, b, 1, 1).to(last.device(), torch.ScalarType.Long)
        .expand(b, 1, d);                                                          // (B, 1, D)
    return torch.gather(last, 1, index).squeeze(1);                               // (B, D)
  }
}
