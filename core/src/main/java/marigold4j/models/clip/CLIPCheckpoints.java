package marigold4j.models.clip;

import java.nio.file.Path;
import java.util.function.Function;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.nn.Module;
import marigold4j.weights.WeightFiles;
import org.bytedeco.pytorch.global.torch;

/** Loading a transformers CLIP component folder ({@code config.json} + weights), for the text and vision towers. */
final class CLIPCheckpoints {
  private CLIPCheckpoints() {}

  /**
   * Reads {@code componentDir/config.json} with {@code readConfig}, builds the model with {@code build} (a config it
   * refuses is reported against the config file), then loads the weights strictly, converted to {@code dtype}.
   */
  static <C, M extends Module> M load(Path componentDir, torch.ScalarType dtype, Function<Path, C> readConfig,
      Function<C, M> build) {
    Path configFile = componentDir.resolve("config.json");
    C config = readConfig.apply(configFile);
    M model;
    try {
      model = build.apply(config);
    } catch (CheckpointException e) {
      throw new CheckpointException(configFile, e.getMessage(), e);
    }
    WeightFiles.loadInto(model, componentDir, null, dtype);
    return model;
  }
}
