package marigold4j.models.clip;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.nn.Module;
import marigold4j.nn.StateDicts;
import marigold4j.weights.SafeTensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Reading a transformers component folder's weights into a CLIP model. */
final class CLIPCheckpoints {
  private CLIPCheckpoints() {}

  static void load(Module model, Path componentDir, torch.ScalarType dtype) {
    Map<String, Tensor> stateDict = readStateDict(componentDir);
    StateDicts.loadStrict(model, stateDict, componentDir.toString(), dtype);
  }

  /**
   * The folder's state dict. Only the single-file {@code model.safetensors} layout is read here; other layouts
   * (PyTorch {@code .bin}, shards, variants) are refused with the file names found.
   */
  static Map<String, Tensor> readStateDict(Path componentDir) {
    Path file = componentDir.resolve("model.safetensors");
    if (Files.isRegularFile(file)) return SafeTensors.load(file);
    if (Files.exists(componentDir.resolve("pytorch_model.bin"))) {
      throw new CheckpointException(componentDir, "only model.safetensors weights are supported here, found "
          + "pytorch_model.bin");
    }
    throw new CheckpointException(componentDir, "no model.safetensors");
  }
}
