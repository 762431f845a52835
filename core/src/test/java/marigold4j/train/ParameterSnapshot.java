package marigold4j.train;

import java.util.LinkedHashMap;
import java.util.Map;
import marigold4j.torch.Tensors;

/** The UNet's state dict copied to Java arrays, to compare a model's weights across runs (resume tests). */
final class ParameterSnapshot {
  private ParameterSnapshot() {}

  static Map<String, float[]> of(E2EFTTrainable model) {
    Map<String, float[]> out = new LinkedHashMap<>();
    model.unet().stateDictSlots().forEach((k, p) -> out.put(k, Tensors.toFloats(p.get())));
    return out;
  }
}
