package marigold4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a killed run leaves of a checkpoint it was writing is removed on the next start; nothing else is. */
class TrainingCheckpointsTest {
  @Test
  void leftoversOfAnInterruptedSaveAreRemovedAndCheckpointsKept(@TempDir Path out) throws IOException {
    Path leftover = Files.createDirectories(out.resolve(".checkpoint-40.k3j2.tmp/unet"));
    Files.writeString(leftover.resolve("diffusion_pytorch_model.safetensors"), "partial");
    Path oldStyle = Files.createDirectories(out.resolve(".checkpoint-20.tmp123456"));
    Path kept = Files.createDirectories(out.resolve("checkpoint-20/unet"));
    Path unrelated = Files.writeString(out.resolve(".notes.tmp"), "mine");

    List<Path> removed = TrainingCheckpoints.removeLeftovers(out);

    assertThat(removed).containsExactlyInAnyOrder(out.resolve(".checkpoint-40.k3j2.tmp"), oldStyle);
    assertThat(out.resolve(".checkpoint-40.k3j2.tmp")).doesNotExist();
    assertThat(kept).exists();
    assertThat(unrelated).exists();
    assertThat(TrainingCheckpoints.list(out)).containsExactly(out.resolve("checkpoint-20"));
    assertThat(TrainingCheckpoints.removeLeftovers(out.resolve("missing"))).isEmpty();
  }
}
