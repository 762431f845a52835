package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import marigold4j.testing.Golden;
import marigold4j.train.MetricsLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainCommandTest {
  static final Path FIX = Golden.fixtures();
  static final String BASE = FIX.resolve("checkpoints/tiny-marigold-depth").toString();
  static final String HYPERSIM = FIX.resolve("train_data/hypersim/data/hypersim/processed").toString();

  @TempDir Path tmp;

  @Test
  void helpExplainsEveryOptionOfTheIssue() {
    CliRun r = CliRun.of("train", "--help");
    assertThat(r.exitCode()).isZero();
    for (String o : new String[] {"--base", "--modality", "--output", "--hypersim-dir", "--vkitti-dir",
        "--max-train-steps", "--train-batch-size", "--gradient-accumulation-steps", "--learning-rate",
        "--lr-exp-warmup-steps", "--lr-total-iter-length", "--checkpointing-steps", "--checkpoints-total-limit",
        "--resume-from-checkpoint", "--noise-type", "--seed", "--no-shuffle", "--hflip-prob", "--mixed-precision",
        "--gradient-checkpointing"}) {
      assertThat(r.out()).contains(o);
    }
    assertThat(r.out()).contains("default: 20000").contains("default: 16").contains("default: 3e-5")
        .contains("MALLOC_ARENA_MAX");
  }

  @Test
  void missingDataIsOneClearLineNotAStackTrace() {
    CliRun r = CliRun.of("train", "--base", BASE, "--modality", "depth", "--output", tmp.toString(),
        "--noise-type", "zeros", "--hypersim-dir", tmp.resolve("nope").toString());
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.err()).contains("nope").contains("Hypersim folder not found").doesNotContain("Exception");
  }

  @Test
  void eightChannelBaseWithoutNoiseTypeIsRejectedWithAHint() {
    CliRun r = CliRun.of("train", "--base", BASE, "--modality", "depth", "--output", tmp.toString(),
        "--hypersim-dir", HYPERSIM, "--max-train-steps", "1");
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.err()).contains("noise type").doesNotContain("Exception");
  }

  @Test
  void trainsOnHypersimWritesCheckpointLogAndPipelineThenPlotsTheLog() throws Exception {
    Path out = tmp.resolve("run");
    CliRun r = CliRun.of("train", "--base", BASE, "--modality", "depth", "--output", out.toString(),
        "--hypersim-dir", HYPERSIM, "--noise-type", "zeros", "--max-train-steps", "2", "--train-batch-size", "1",
        "--gradient-accumulation-steps", "1", "--checkpointing-steps", "1", "--checkpoints-total-limit", "1",
        "--lr-exp-warmup-steps", "0", "--no-shuffle", "--hflip-prob", "0", "--seed", "3");
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out()).contains("step 1/2").contains("step 2/2").contains("saved the fine-tuned pipeline");
    assertThat(out.resolve("checkpoint-1")).doesNotExist();
    assertThat(out.resolve("checkpoint-2/optimizer.pt")).exists();
    assertThat(out.resolve("model_index.json")).exists();
    assertThat(out.resolve("unet/diffusion_pytorch_model.safetensors")).exists();
    assertThat(Files.readString(out.resolve("scheduler/scheduler_config.json"))).contains("\"trailing\"");
    assertThat(MetricsLog.read(out.resolve(MetricsLog.DEFAULT_FILE))).extracting(MetricsLog.Entry::step)
        .containsExactly(1L, 2L);

    Path png = tmp.resolve("curves.png");
    CliRun p = CliRun.of("plot-log", out.toString(), "--output", png.toString());
    assertThat(p.exitCode()).as(p.err()).isZero();
    BufferedImage img = ImageIO.read(png.toFile());
    assertThat(img.getWidth()).isEqualTo(1000);
    assertThat(img.getHeight()).isEqualTo(700);
  }

  @Test
  void trainsWithGradientCheckpointing() throws Exception {
    Path out = tmp.resolve("ckpt");
    CliRun r = CliRun.of("train", "--base", BASE, "--modality", "depth", "--output", out.toString(),
        "--hypersim-dir", HYPERSIM, "--noise-type", "zeros", "--max-train-steps", "1", "--train-batch-size", "1",
        "--gradient-accumulation-steps", "1", "--lr-exp-warmup-steps", "0", "--no-shuffle", "--hflip-prob", "0",
        "--gradient-checkpointing");
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out()).contains("step 1/1").contains("saved the fine-tuned pipeline").doesNotContain("not implemented");
    assertThat(Files.readString(out.resolve("arguments.txt"))).contains("gradient_checkpointing: true");
  }

  @Test
  void plotLogOfAMissingFileIsAClearError() {
    CliRun r = CliRun.of("plot-log", tmp.resolve("none.jsonl").toString());
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.err()).contains("none.jsonl").contains("not found").doesNotContain("Exception");
  }
}
