package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import marigold4j.testing.Golden;
import marigold4j.torch.Engine;
import marigold4j.train.MetricsLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train --nproc-per-node 2}: the launcher starts two worker JVMs (Gloo on loopback), rank 0 alone writes, each
 * rank trains on its own shard; a worker that dies stops the job with its rank named; bad configurations are one line.
 */
class DistributedTrainCommandTest {
  static final Path FIX = Golden.fixtures();
  static final String BASE = FIX.resolve("checkpoints/tiny-marigold-depth").toString();
  static final String HYPERSIM = FIX.resolve("train_data/hypersim/data/hypersim/processed").toString();

  @TempDir Path tmp;

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private List<String> args(Path out, String steps, String... more) {
    List<String> a = new ArrayList<>(List.of("train", "--base", BASE, "--modality", "depth", "--output",
        out.toString(), "--hypersim-dir", HYPERSIM, "--noise-type", "zeros", "--max-train-steps", steps,
        "--train-batch-size", "1", "--gradient-accumulation-steps", "1", "--checkpointing-steps", "1",
        "--checkpoints-total-limit", "1", "--lr-exp-warmup-steps", "0", "--seed", "3", "--data-workers", "1",
        "--dist-timeout", "30"));
    a.addAll(List.of(more));
    return a;
  }

  @Test
  void helpExplainsTheLaunchOptions() {
    CliRun r = CliRun.of("train", "--help");
    for (String o : new String[] {"--nproc-per-node", "--nnodes", "--node-rank", "--master-addr", "--master-port",
        "--backend", "--dist-timeout", "WORLD_SIZE", "effective batch"}) {
      assertThat(r.out()).contains(o);
    }
  }

  @Test
  void twoWorkersTrainOnDisjointShardsAndRankZeroAloneWrites() throws Exception {
    Path out = tmp.resolve("run");
    CliRun r = CliRun.of(args(out, "2", "--nproc-per-node", "2", "--master-port",
        Integer.toString(freePort())).toArray(String[]::new));
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out()).contains("data parallel: 2 ranks (gloo), effective batch 1 per rank x 1 accumulation x 2 "
        + "ranks = 2 samples per optimizer step");
    assertThat(r.out()).contains("step 1/2").contains("step 2/2").contains("saved the fine-tuned pipeline")
        .doesNotContain("[rank 1] step");
    assertThat(r.out().lines().filter(l -> l.startsWith("step 2/2")).count()).as("printed by rank 0 only")
        .isEqualTo(1);
    assertThat(MetricsLog.read(out.resolve(MetricsLog.DEFAULT_FILE))).hasSize(2);
    assertThat(out.resolve("checkpoint-1")).doesNotExist();
    assertThat(out.resolve("checkpoint-2/random_states_0.json")).exists();
    assertThat(out.resolve("checkpoint-2/random_states_1.json")).exists();
    JsonNode states = new ObjectMapper().readTree(out.resolve("checkpoint-2/data_states.json").toFile());
    assertThat(states.path("world_size").asInt()).isEqualTo(2);
    // two items, one per micro-batch: rank 0 takes plan entries 0, 2 (epoch 1's first), rank 1 entries 1, 3
    assertThat(states.path("ranks").get(0).path("data_state").asText()).isEqualTo("1/1");
    assertThat(states.path("ranks").get(1).path("data_state").asText()).isEqualTo("1/2");
    assertThat(out.resolve("model_index.json")).exists();
    try (var s = Files.list(out)) {
      assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("."))).isEmpty();
    }
  }

  @Test
  void aWorkerThatDiesStopsTheJobAndIsNamed() throws Exception {
    Path out = tmp.resolve("run");
    List<String> a = args(out, "200", "--nproc-per-node", "2", "--master-port", Integer.toString(freePort()));
    CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.of(a.toArray(String[]::new)));
    Path metrics = out.resolve(MetricsLog.DEFAULT_FILE);
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
    while (!(Files.exists(metrics) && Files.size(metrics) > 0) && System.nanoTime() < end && !run.isDone()) {
      Thread.sleep(100);
    }
    List<ProcessHandle> workers = ProcessHandle.current().children()
        .filter(p -> p.info().arguments().map(x -> List.of(x).contains(Main.class.getName())).orElse(false))
        .sorted(Comparator.comparing(p -> p.info().startInstant().orElseThrow())).toList();
    assertThat(workers).as("worker JVMs").hasSize(2);
    workers.get(1).destroyForcibly();   // rank 1, started second
    CliRun r = run.get(120, TimeUnit.SECONDS);
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err()).contains("error: rank 1 failed (killed by SIGKILL, exit code 137); stopping the 1 other "
        + "worker(s) of this node");
    assertThat(workers.get(0).isAlive()).as("rank 0 stopped").isFalse();
  }

  @Test
  void ncclWithoutCudaIsOneClearLine() {
    Engine.init();
    assumeTrue(!Engine.cudaAvailable(), "this machine has CUDA");
    CliRun r = CliRun.of(args(tmp, "1", "--backend", "nccl").toArray(String[]::new));
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err().strip()).isEqualTo("error: --backend nccl needs CUDA GPUs and the GPU build (-Pgpu), and this "
        + "machine has none: use --backend gloo");
  }

  @Test
  void aNodeRankOutsideTheJobIsOneClearLine() {
    CliRun r = CliRun.of(args(tmp, "1", "--nproc-per-node", "2", "--nnodes", "2", "--node-rank", "2")
        .toArray(String[]::new));
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err().strip()).isEqualTo("error: --node-rank must be in 0..1 for --nnodes 2, got 2");
  }

  @Test
  void aTakenMasterPortIsOneClearLineBeforeAnyWorkerStarts() throws Exception {
    try (ServerSocket taken = new ServerSocket(0)) {
      int port = taken.getLocalPort();
      CliRun r = CliRun.of(args(tmp, "1", "--nproc-per-node", "2", "--master-port", Integer.toString(port))
          .toArray(String[]::new));
      assertThat(r.exitCode()).isEqualTo(2);
      assertThat(r.err().strip()).isEqualTo("error: --master-port " + port + " is already in use on this host "
          + "(another job's rendezvous?): choose another --master-port");
      assertThat(r.out()).doesNotContain("launching");
    }
  }

  @Test
  void unknownBackendIsOneClearLine() {
    CliRun r = CliRun.of(args(tmp, "1", "--backend", "mpi").toArray(String[]::new));
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err().strip()).isEqualTo("error: --backend must be gloo or nccl, got 'mpi'");
  }
}
