package marigold4j.models.clip;

import java.nio.file.Path;
import marigold4j.nn.Module;
import marigold4j.weights.WeightFiles;
import org.bytedeco.pytorch.global.torch;

/** Reading a transformers component folder's weights into a CLIP model. */
final class CLIPCheckpoints {
  private CLIPCheckpoints() {}

  static void load(Module model, Path componentDir, torch.ScalarType dtype) {
    WeightFiles.loadInto(model, componentDir, null, dtype);
  }
}
