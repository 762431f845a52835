package marigold4j.checkpoint;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import marigold4j.fuzz.Invariants;
import marigold4j.models.clip.CLIPTextConfig;
import marigold4j.models.clip.CLIPVisionConfig;
import marigold4j.models.unet.UNet2DConditionConfig;
import marigold4j.models.vae.AutoencoderKLConfig;
import marigold4j.schedulers.SchedulerConfig;
import org.junit.jupiter.api.Timeout;

/**
 * A checkpoint's JSON files to configs: {@code model_index.json} ({@link ModelIndex#read}) and each component's
 * {@code config.json} (UNet, VAE, CLIP text / vision, scheduler). Any bytes give a config that passed its own
 * validation, or a {@link CheckpointException} naming the file and the key.
 */
class ConfigJsonFuzzTest {
  @FuzzTest
  @Timeout(10)
  void modelIndex(byte[] data) {
    Path file = Invariants.inputFile("model_index", "model_index.json", data);
    Invariants.check(file.getParent(), file.getFileName().toString(), () -> ModelIndex.read(file.getParent()), CheckpointException.class);
  }

  @FuzzTest
  @Timeout(10)
  void componentConfigs(byte[] data) {
    Path file = Invariants.inputFile("config", "config.json", data);
    Invariants.check(file.getParent(), file.getFileName().toString(), () -> UNet2DConditionConfig.read(file), CheckpointException.class);
    Invariants.check(file.getParent(), file.getFileName().toString(), () -> AutoencoderKLConfig.read(file), CheckpointException.class);
    Invariants.check(file.getParent(), file.getFileName().toString(), () -> CLIPTextConfig.read(file), CheckpointException.class);
    Invariants.check(file.getParent(), file.getFileName().toString(), () -> CLIPVisionConfig.read(file), CheckpointException.class);
  }

  @FuzzTest
  @Timeout(10)
  void schedulerConfig(byte[] data) {
    Path file = Invariants.inputFile("scheduler", "scheduler_config.json", data);
    Invariants.check(file.getParent(), file.getFileName().toString(), () -> SchedulerConfig.read(file), CheckpointException.class);
  }
}
