package marigold4j.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;
import marigold4j.pipeline.Precision;
import marigold4j.testing.Golden;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * A measurement, not a test (its name keeps it out of the test suite): the peak resident memory of one training
 * micro-step (forward and backward) on the tiny depth checkpoint at a larger input, with or without gradient
 * checkpointing. Run one JVM per setting, since freed memory stays in the process:
 *
 * <pre>
 * ./mvnw -B -o -q test -pl core -Dtest=GradientCheckpointingMemoryMeasurement -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dgc.on=true -Dgc.size=256 -Dgc.batch=2
 * </pre>
 *
 * The peak is Linux's VmHWM after resetting it ({@code echo 5 > /proc/self/clear_refs}) just before the step, minus
 * the resident size at that moment. Run with {@code MALLOC_MMAP_THRESHOLD_=65536} in the environment so that freed
 * tensors go back to the system and the resident size follows the live tensors (glibc otherwise keeps freed heap
 * memory, which hides later peaks).
 */
class GradientCheckpointingMemoryMeasurement {
  @Test
  void measurePeakMemoryOfOneMicroStep() throws IOException {
    boolean on = Boolean.parseBoolean(System.getProperty("gc.on", "false"));
    int size = Integer.parseInt(System.getProperty("gc.size", "256"));
    int batch = Integer.parseInt(System.getProperty("gc.batch", "2"));
    TrainOptions o = TrainOptions.defaults().withBatch(batch, 1).withLearningRate(1e-4, 0, 100)
        .withGradientCheckpointing(on);
    Golden.load("training/depth_marigold_zeros_warmup0", "case");   // engine + 2 threads
    try (E2EFTModel model = E2EFTModel.load(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth"),
        Modality.DEPTH, NoiseType.ZEROS, Precision.FP32); E2EFTTrainer trainer = new E2EFTTrainer(model, o);
        PointerScope outer = new PointerScope()) {
      torch.manual_seed(0);
      org.bytedeco.pytorch.Scalar two = new org.bytedeco.pytorch.Scalar(2.0);
      org.bytedeco.pytorch.Scalar one = new org.bytedeco.pytorch.Scalar(1.0);
      Tensor rgb = torch.rand(batch, 3, size, size).mul(two).sub(one);                // (B, 3, H, W) in [-1, 1]
      Tensor mask = torch.ones(batch, 1, size, size).to(torch.ScalarType.Bool);
      Tensor depth = torch.rand(batch, 1, size, size).mul(two).sub(one);
      TrainingBatch b = new TrainingBatch(rgb, mask, depth, null);
      for (int round = 0; round < 3; round++) {
        long rss = status("VmRSS");
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");                    // VmHWM := VmRSS
        long base = status("VmRSS");
        long t0 = System.nanoTime();
        try (PointerScope scope = new PointerScope()) {
          trainer.microStep(b, round, null);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long peak = status("VmHWM");
        trainer.optimizerStep();
        System.out.printf(Locale.ROOT, "gradient checkpointing %-3s %dx%d batch %d round %d: peak RSS over baseline "
            + "%.1f MiB (baseline %.1f MiB, before reset %.1f MiB), step %.2f s, physicalBytes now %.1f MiB%n",
            on ? "on" : "off", size, size, batch, round, (peak - base) / 1024.0, base / 1024.0, rss / 1024.0, seconds,
            Pointer.physicalBytes() / 1048576.0);
      }
    }
  }

  /**
   * The UNet alone (the part checkpointing changes): forward and backward of a weighted sum of its output for a
   * (B, 8, size / 8, size / 8) latent, the UNet input of a size x size image.
   */
  @Test
  void measurePeakMemoryOfTheUnetAlone() throws IOException {
    boolean on = Boolean.parseBoolean(System.getProperty("gc.on", "false"));
    int size = Integer.parseInt(System.getProperty("gc.size", "256"));
    int batch = Integer.parseInt(System.getProperty("gc.batch", "2"));
    Golden.load("training/depth_marigold_zeros_warmup0", "case");
    try (E2EFTModel model = E2EFTModel.load(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth"),
        Modality.DEPTH, NoiseType.ZEROS, Precision.FP32); PointerScope outer = new PointerScope()) {
      torch.manual_seed(0);
      Tensor sample = torch.randn(batch, 8, size / 8, size / 8);
      Tensor timesteps = torch.full(new long[] {batch}, new org.bytedeco.pytorch.Scalar(999),
          new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Long));
      Tensor context = model.emptyEncoding().repeat(batch, 1, 1);
      Tensor weights = torch.randn(batch, 4, size / 8, size / 8);
      for (int round = 0; round < 3; round++) {
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        long base = status("VmRSS");
        long t0 = System.nanoTime();
        try (PointerScope scope = new PointerScope()) {
          marigold4j.nn.ActivationCheckpoint checkpoint = on ? new marigold4j.nn.ActivationCheckpoint() : null;
          Tensor out = model.unet().forward(sample, timesteps, context, null,
              on ? checkpoint : marigold4j.nn.SegmentRunner.DIRECT);
          out.mul(weights).sum().backward();
          if (on) {
            checkpoint.backward();
            checkpoint.close();
          }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long peak = status("VmHWM");
        model.trainableParameters().forEach(p -> p.mutable_grad().reset());
        System.out.printf(Locale.ROOT, "UNet alone, gradient checkpointing %-3s latent %dx%d batch %d round %d: peak "
            + "RSS over baseline %.1f MiB (baseline %.1f MiB), forward + backward %.2f s%n", on ? "on" : "off",
            size / 8, size / 8, batch, round, (peak - base) / 1024.0, base / 1024.0, seconds);
      }
    }
  }

  /** A {@code /proc/self/status} field in KiB. */
  private static long status(String field) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith(field + ":")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }
    throw new IllegalStateException(field + " not in /proc/self/status");
  }
}
