package marigold4j.models.clip;

import marigold4j.checkpoint.CheckpointException;
import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;

/** The MLP activations CLIP checkpoints use, by their {@code hidden_act} names. */
enum CLIPActivation {
  /** Exact (erf) GELU, as OpenCLIP-trained text towers (Stable Diffusion 2) use. */
  GELU("gelu"),
  /** OpenAI CLIP's {@code x * sigmoid(1.702 x)}. */
  QUICK_GELU("quick_gelu");

  private final String configName;

  CLIPActivation(String configName) {
    this.configName = configName;
  }

  Tensor apply(Tensor x) {
    return this == GELU ? F.gelu(x) : F.quickGelu(x);
  }

  /** Parses a config's {@code hidden_act}; any other value is refused naming the key. */
  static CLIPActivation fromConfig(String hiddenAct) {
    for (CLIPActivation a : values()) if (a.configName.equals(hiddenAct)) return a;
    throw new CheckpointException("config key 'hidden_act': unsupported value '" + hiddenAct
        + "' (supported: gelu, quick_gelu)");
  }
}
