package marigold4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;
import marigold4j.pipeline.Precision;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import marigold4j.weights.SafeTensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel training across two JVMs on loopback (Gloo), on the tiny fixture checkpoint and the recorded
 * fixture micro-batches ({@link DataParallelWorker}).
 *
 * <p>Tolerances. Two ranks of micro-batch 1 compute the same mean gradient as one rank of micro-batch 2, in a
 * different float32 order: each rank's UNet, VAE and loss run on one sample instead of two (other kernel blockings),
 * and the two halves are summed by the all-reduce and halved instead of summed inside the loss' mean. The loss is a
 * mean of a few thousand values of order 1: a relative 1e-5 covers its float32 rounding (measured: 6e-8). The
 * gradient norm sums the squares of about 10^6 components, each rounded differently: sqrt(10^6) x 6e-8 = 6e-5, so
 * 1e-4 relative (measured: 2.2e-6). The weights after AdamW agree far tighter than the learning rate, except where a gradient
 * component is so close to 0 that its rounding flips the sign of Adam's normalised step m / sqrt(v): such a weight can
 * move by up to lr in the other direction per step. So the bound on any weight is 2 x lr x steps (plus float32
 * rounding), and the RMS difference over all weights must stay below 1 % of the RMS change the training made.
 */
class DataParallelTrainingTest {
  static final Path DEPTH = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth");
  private static final double LR = 3e-5;

  /** Steps, accumulation and clipping of both tests; the uninterrupted run saves checkpoint-2. */
  private static final int STEPS = 3;
  private static final int ACCUMULATION = 2;
  private static final double MAX_GRAD_NORM = 0.25;   // the golden fixtures' clipping case: clipping is active
  @TempDir static Path shared;
  private static Job uninterrupted;

  @TempDir Path tmp;

  /** Two ranks, micro-batch 1, {@link #STEPS} steps, checkpoint-2 (run once, used by both tests). */
  private static synchronized Job uninterrupted() throws Exception {
    if (uninterrupted == null) {
      Path out = Files.createDirectories(shared.resolve("full"));
      uninterrupted = Job.start(out, 2, STEPS, ACCUMULATION, 2, MAX_GRAD_NORM, "fresh", Map.of());
      uninterrupted.dir = out;
      uninterrupted.awaitSuccess(300);
    }
    return uninterrupted;
  }

  @Test
  void twoRanksOfMicroBatchOneTrainLikeOneRankOfMicroBatchTwo() throws Exception {
    int steps = STEPS;
    int accumulation = ACCUMULATION;
    double maxGradNorm = MAX_GRAD_NORM;
    CompletableFuture<Job> job = CompletableFuture.supplyAsync(() -> {
      try {
        return uninterrupted();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });

    // the reference: one process, micro-batch 2 (both samples of each recorded batch), same options otherwise
    List<double[]> reference = new ArrayList<>();
    Map<String, Tensor> initial;
    Map<String, Tensor> single;
    Golden.load("training/depth_marigold_zeros_warmup0", "case");
    try (E2EFTModel model = E2EFTModel.load(DEPTH, Modality.DEPTH, NoiseType.ZEROS, Precision.FP32);
        E2EFTTrainer trainer = new E2EFTTrainer(model, DataParallelWorker.options(steps, 2, accumulation, 1000,
            maxGradNorm))) {
      initial = copy(TrainingCheckpoints.unetStateDict(model));
      trainer.train(DataParallelWorker.whole(), tmp.resolve("single"),
          r -> reference.add(new double[] {r.loss(), r.gradNormPreClip()}));
      single = copy(TrainingCheckpoints.unetStateDict(model));
    }

    Job two = job.get(300, TimeUnit.SECONDS);
    Path out = two.dir;
    List<double[]> dp = two.steps(0);
    assertThat(dp).hasSize(steps);
    assertThat(two.steps(1)).as("rank 1 logs the same averaged values").usingRecursiveComparison().isEqualTo(dp);
    for (int s = 0; s < steps; s++) {
      System.out.printf("step %d: loss %.9f vs %.9f, grad norm %.9f vs %.9f%n", s + 1, dp.get(s)[0],
          reference.get(s)[0], dp.get(s)[1], reference.get(s)[1]);
      assertThat(dp.get(s)[0]).as("loss of step " + (s + 1)).isCloseTo(reference.get(s)[0],
          org.assertj.core.data.Percentage.withPercentage(1e-3));
      assertThat(dp.get(s)[1]).as("gradient norm of step " + (s + 1)).isCloseTo(reference.get(s)[1],
          org.assertj.core.data.Percentage.withPercentage(1e-2));
    }
    assertThat(reference.get(2)[1]).as("clipping was active").isGreaterThan(maxGradNorm);

    Map<String, Tensor> rank0 = SafeTensors.load(out.resolve("rank0.safetensors"));
    Map<String, Tensor> rank1 = SafeTensors.load(out.resolve("rank1.safetensors"));
    double maxDiff = 0;
    double sumSq = 0;
    double changeSq = 0;
    long n = 0;
    try (PointerScope scope = new PointerScope()) {
      for (String k : single.keySet()) {
        assertThat(Tensors.maxAbsDiff(rank0.get(k), rank1.get(k))).as("rank 0 vs rank 1: " + k).isZero();
        Tensor d = rank0.get(k).sub(single.get(k)).to(org.bytedeco.pytorch.global.torch.ScalarType.Double);
        maxDiff = Math.max(maxDiff, d.abs().max().item_double());
        sumSq += d.pow(new org.bytedeco.pytorch.Scalar(2)).sum().item_double();
        Tensor c = single.get(k).sub(initial.get(k)).to(org.bytedeco.pytorch.global.torch.ScalarType.Double);
        changeSq += c.pow(new org.bytedeco.pytorch.Scalar(2)).sum().item_double();
        n += d.numel();
      }
    }
    double rms = Math.sqrt(sumSq / n);
    double changeRms = Math.sqrt(changeSq / n);
    System.out.printf("weights: max |dp - single| %.3g (bound %.3g), RMS %.3g vs RMS change %.3g%n", maxDiff,
        2 * LR * steps, rms, changeRms);
    assertThat(maxDiff).isLessThanOrEqualTo(2 * LR * steps + 1e-6);
    assertThat(rms).isLessThan(0.01 * changeRms);
  }

  @Test
  void aKilledRankStopsTheOtherNamingItAndAResumeReproducesTheUninterruptedRun() throws Exception {
    int steps = STEPS;
    Job a = uninterrupted();
    Path full = a.dir;

    // interrupted: rank 1 is killed (SIGKILL) once it has finished step 3; checkpoint-2 is complete by then
    Path cut = Files.createDirectories(tmp.resolve("cut"));
    long timeout = 20;
    Job b = Job.start(cut, 2, 10, ACCUMULATION, 2, MAX_GRAD_NORM, "fresh", Map.of("DIST_TIMEOUT",
        Long.toString(timeout)));
    b.awaitLine(1, "step 3 ", 240);
    b.procs.get(1).destroyForcibly();
    long killed = System.nanoTime();
    assertThat(b.procs.get(0).waitFor(timeout + 15, TimeUnit.SECONDS)).as("rank 0 stops within the timeout").isTrue();
    double seconds = (System.nanoTime() - killed) / 1e9;
    Thread.sleep(200);   // the output readers finish
    List<String> errors = b.stderr(0).lines().filter(l -> l.startsWith("error: ")).toList();
    System.out.printf("rank 0 stopped %.1f s after rank 1 was killed: %s%n", seconds, errors);
    assertThat(b.procs.get(0).exitValue()).isNotZero();
    assertThat(errors).as(b.stderr(0)).hasSize(1);
    assertThat(errors.get(0)).contains("rank 1 stopped");
    assertThat(seconds).as("seconds until rank 0 stopped").isLessThan(timeout + 10);
    assertThat(cut.resolve("checkpoint-2/data_states.json")).exists();
    assertThat(cut.resolve("checkpoint-2/random_states_1.json")).exists();

    // resume with two ranks from the last checkpoint: the same step 3 and the same weights
    Job c = Job.start(cut, 2, steps, ACCUMULATION, 2, MAX_GRAD_NORM, "resume", Map.of());
    c.awaitSuccess(240);
    assertThat(c.stdout(0)).contains("resumed checkpoint-2");
    assertThat(c.steps(0)).hasSize(1);
    assertThat(c.steps(0).get(0)).containsExactly(a.steps(0).get(2));
    Map<String, Tensor> expected = SafeTensors.load(full.resolve("rank0.safetensors"));
    for (int r = 0; r < 2; r++) {
      Map<String, Tensor> resumed = SafeTensors.load(cut.resolve("rank" + r + ".safetensors"));
      for (String k : expected.keySet()) {
        assertThat(Tensors.maxAbsDiff(resumed.get(k), expected.get(k))).as("rank " + r + " " + k).isZero();
      }
    }
  }

  private static Map<String, Tensor> copy(Map<String, Tensor> m) {
    Map<String, Tensor> out = new java.util.LinkedHashMap<>();
    m.forEach((k, v) -> out.put(k, v.clone()));
    return out;
  }

  /** Worker JVMs of one run, with their output collected. */
  static final class Job {
    final List<Process> procs = new ArrayList<>();
    final List<StringBuffer> out = new ArrayList<>();
    final List<StringBuffer> err = new ArrayList<>();
    Path dir;

    static Job start(Path dir, int world, long steps, int accumulation, long checkpointing, double maxGradNorm,
        String mode, Map<String, String> env) throws IOException {
      int port;
      try (ServerSocket s = new ServerSocket(0)) {
        port = s.getLocalPort();
      }
      Job job = new Job();
      for (int r = 0; r < world; r++) {
        List<String> cmd = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g"));
        String cache = System.getProperty("org.bytedeco.javacpp.cachedir");
        if (cache != null) cmd.add("-Dorg.bytedeco.javacpp.cachedir=" + cache);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), DataParallelWorker.class.getName(),
            dir.toString(), Long.toString(steps), Integer.toString(accumulation), Long.toString(checkpointing),
            Double.toString(maxGradNorm), mode));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(Map.of("WORLD_SIZE", Integer.toString(world), "RANK", Integer.toString(r),
            "LOCAL_RANK", Integer.toString(r), "MASTER_ADDR", "127.0.0.1", "MASTER_PORT", Integer.toString(port),
            "OMP_NUM_THREADS", "1"));
        pb.environment().putAll(env);
        Process p = pb.start();
        job.procs.add(p);
        job.out.add(collect(p.getInputStream()));
        job.err.add(collect(p.getErrorStream()));
      }
      return job;
    }

    private static StringBuffer collect(java.io.InputStream in) {
      StringBuffer b = new StringBuffer();
      CompletableFuture.runAsync(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
          String line;
          while ((line = r.readLine()) != null) {
            if (line.contains("NNPACK")) continue;   // libtorch's warning on CPUs without NNPACK support
            b.append(line).append('\n');
          }
        } catch (IOException ignored) {
          // process gone
        }
      });
      return b;
    }

    void awaitSuccess(long seconds) throws InterruptedException {
      long end = System.nanoTime() + seconds * 1_000_000_000L;
      for (int r = 0; r < procs.size(); r++) {
        Process p = procs.get(r);
        boolean done = p.waitFor(Math.max(1, end - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (!done) procs.forEach(Process::destroyForcibly);
        assertThat(done).as("rank " + r + " finished; stderr: " + stderr(r)).isTrue();
        assertThat(p.exitValue()).as("rank " + r + " exit code; stderr: " + stderr(r)).isZero();
      }
      Thread.sleep(200);   // the output readers finish
    }

    void awaitLine(int rank, String prefix, long seconds) throws InterruptedException {
      long end = System.nanoTime() + seconds * 1_000_000_000L;
      while (System.nanoTime() < end) {
        if (out.get(rank).toString().lines().anyMatch(l -> l.startsWith(prefix))) return;
        if (!procs.get(rank).isAlive()) break;
        Thread.sleep(50);
      }
      procs.forEach(Process::destroyForcibly);
      throw new AssertionError("rank " + rank + " never printed '" + prefix + "': " + stderr(rank));
    }

    String stdout(int rank) {
      return out.get(rank).toString();
    }

    String stderr(int rank) {
      return err.get(rank).toString().lines().filter(l -> !l.contains("[Gloo]")).reduce("", (x, y) -> x + y + "\n");
    }

    /** The {@code step <n> <loss> <grad_norm>} lines of a rank: {loss, grad norm} per step. */
    List<double[]> steps(int rank) {
      List<double[]> s = new ArrayList<>();
      for (String l : stdout(rank).lines().filter(l -> l.startsWith("step ")).toList()) {
        String[] f = l.split(" ");
        s.add(new double[] {Double.parseDouble(f[2]), Double.parseDouble(f[3])});
      }
      return s;
    }
  }
}
