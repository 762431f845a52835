package marigold4j.weights;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Files;
import java.nio.file.Path;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.fuzz.Invariants;
import org.junit.jupiter.api.Timeout;

/**
 * Sharded checkpoints' index ({@code diffusion_pytorch_model.safetensors.index.json}, {@link WeightFiles#files}):
 * the {@code weight_map} names shard files, which must stay inside the component folder; anything else is a
 * {@link CheckpointException}. One small shard ({@code shard-1.safetensors}) exists next to the index.
 */
class ShardIndexFuzzTest {
  @FuzzTest
  @Timeout(10)
  void files(byte[] data) throws Exception {
    Path index = Invariants.inputFile("shards/unet", "diffusion_pytorch_model.safetensors.index.json", data);
    Path dir = index.getParent();
    Files.write(dir.resolve("shard-1.safetensors"), new byte[] {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
    Invariants.check(dir.getParent(), () -> {
      for (Path p : WeightFiles.files(dir, null)) {
        if (!p.toAbsolutePath().normalize().startsWith(dir.toAbsolutePath().normalize())) {
          throw new AssertionError("shard outside the component folder: " + p);
        }
      }
    }, CheckpointException.class);
  }
}
