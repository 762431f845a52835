package marigold4j.train;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;
import marigold4j.pipeline.Precision;
import marigold4j.testing.Golden;
import marigold4j.torch.ProcessGroups;
import marigold4j.torch.Tensors;
import marigold4j.weights.SafeTensors;
import org.bytedeco.pytorch.Tensor;

/**
 * One rank of a data-parallel run on the tiny fixture checkpoint, started as a child JVM by
 * {@link DataParallelTrainingTest} with torchrun's environment (WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT).
 *
 * <p>Micro-batch k of rank r is sample r of the recorded fixture batch k ({@link #shard}), with every pixel valid
 * ({@link #fullMask}): one rank with micro-batch 2 then sees exactly the samples of two ranks with micro-batch 1.
 *
 * <p>Arguments: output folder, max steps, accumulation, checkpointing steps, max gradient norm, "resume" or "fresh".
 * Prints {@code step <n> <loss> <grad_norm>} after each step and writes the final UNet weights to
 * {@code <output>/rank<r>.safetensors}.
 */
public final class DataParallelWorker {
  private DataParallelWorker() {}

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args[0]);
    TrainOptions o = options(Long.parseLong(args[1]), 1, Integer.parseInt(args[2]), Long.parseLong(args[3]),
        Double.parseDouble(args[4]));
    boolean resume = args[5].equals("resume");
    PrintStream stdout = System.out;
    ProcessGroups.Config config = ProcessGroups.Config.fromEnvironment(System.getenv(),
        ProcessGroups.BackendKind.GLOO, Duration.ofSeconds(Long.parseLong(System.getenv().getOrDefault(
            "DIST_TIMEOUT", "60")))).orElseThrow();
    Golden.load("training/depth_marigold_zeros_warmup0", "case");   // engine + 2 threads
    try (DataParallel dp = DataParallel.join(config);
        E2EFTModel model = E2EFTModel.load(DataParallelTrainingTest.DEPTH, Modality.DEPTH, NoiseType.ZEROS,
            Precision.FP32);
        E2EFTTrainer trainer = new E2EFTTrainer(model, o)) {
      trainer.distributed(dp);
      FixtureBatches data = shard(dp.rank());
      if (resume) {
        Path ckpt = TrainingCheckpoints.resolve(out, "latest").orElseThrow();
        trainer.restore(TrainingCheckpoints.readState(ckpt), ckpt, data);
        stdout.println("resumed " + ckpt.getFileName());
      }
      trainer.train(data, out, r -> {
        stdout.printf(Locale.ROOT, "step %d %.9e %.9e%n", r.step() + 1, r.loss(), r.gradNormPreClip());
        stdout.flush();
      });
      SafeTensors.save(out.resolve("rank" + dp.rank() + ".safetensors"), TrainingCheckpoints.unetStateDict(model),
          null);
      stdout.println("done");
    } catch (RuntimeException e) {
      System.err.println("error: " + e.getMessage());
      System.exit(2);
    }
    System.exit(0);
  }

  static TrainOptions options(long steps, int batch, int accumulation, long checkpointingSteps, double maxGradNorm) {
    return TrainOptions.defaults().withBatch(batch, accumulation).withLearningRate(3e-5, 0, 20000)
        .withMaxTrainSteps(steps).withCheckpointing(checkpointingSteps, 0).withSeed(1234).withMaxGradNorm(maxGradNorm);
  }

  /** Micro-batch k: sample {@code rank} of the recorded batch k, every pixel valid. */
  static FixtureBatches shard(int rank) {
    return new FixtureBatches(k -> {
      TrainingBatch b = fullMask(FixtureBatches.batch((int) (k % FixtureBatches.count())));
      return new TrainingBatch(b.rgb().narrow(0, rank, 1), b.valMask().narrow(0, rank, 1),
          b.metricDepth().narrow(0, rank, 1), b.normals().narrow(0, rank, 1));
    });
  }

  /** Both samples of the recorded batch k, every pixel valid (the single-process reference). */
  static FixtureBatches whole() {
    return new FixtureBatches(k -> fullMask(FixtureBatches.batch((int) (k % FixtureBatches.count()))));
  }

  /**
   * The batch with every pixel valid: the SSI loss averages over all valid pixels of a micro-batch while DDP averages
   * the ranks' losses, so the two agree only when every sample has as many valid pixels (as in the original).
   */
  static TrainingBatch fullMask(TrainingBatch b) {
    long[] shape = Tensors.shape(b.valMask());
    byte[] ones = new byte[Math.toIntExact(b.valMask().numel())];
    java.util.Arrays.fill(ones, (byte) 1);
    Tensor mask = Tensors.fromBoolBytes(ones, shape);
    return new TrainingBatch(b.rgb(), mask, b.metricDepth(), b.normals());
  }
}
