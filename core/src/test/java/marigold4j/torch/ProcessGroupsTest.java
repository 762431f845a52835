package marigold4j.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import marigold4j.torch.ProcessGroups.BackendKind;
import marigold4j.torch.ProcessGroups.Config;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/**
 * c10d through the binding, two ranks as two threads of this JVM on loopback (Gloo): the collectives' results, and
 * each bad configuration as one clear line within a bounded time.
 */
class ProcessGroupsTest {
  private static final Duration SHORT = Duration.ofSeconds(4);

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static Config config(int rank, int world, int port, Duration timeout) {
    return new Config(rank, world, rank, "127.0.0.1", port, BackendKind.GLOO, timeout);
  }

  /** Runs {@code body} on ranks 0..world-1 of a fresh group, one thread each; returns each rank's result. */
  private static <T> List<T> onRanks(int world, Function<ProcessGroups, T> body) throws Exception {
    int port = freePort();
    List<CompletableFuture<T>> fs = new ArrayList<>();
    for (int r = 0; r < world; r++) {
      int rank = r;
      fs.add(CompletableFuture.supplyAsync(() -> {
        try (ProcessGroups g = ProcessGroups.init(config(rank, world, port, Duration.ofSeconds(30)))) {
          return body.apply(g);
        }
      }));
    }
    List<T> out = new ArrayList<>();
    for (CompletableFuture<T> f : fs) out.add(f.get(60, TimeUnit.SECONDS));
    return out;
  }

  @Test
  void bucketedMeanAllreduceAveragesEveryTensorExactly() throws Exception {
    Engine.init();
    // three tensors over two buckets (bucket limit 40 bytes: 6 floats + 4 floats | 5 floats)
    List<float[]> results = onRanks(2, g -> {
      float base = g.rank() == 0 ? 1f : 3f;
      List<Tensor> ts = List.of(
          Tensors.fromFloats(new float[] {base, 2 * base, 3 * base, 4 * base, 5 * base, 6 * base}, 2, 3),
          Tensors.fromFloats(new float[] {base, -base, 0.5f * base, 8 * base}, 4),
          Tensors.fromFloats(new float[] {base, base, base, base, base}, 5, 1));
      g.allreduceMean(ts, 40);
      List<Float> all = new ArrayList<>();
      for (Tensor t : ts) for (float v : Tensors.toFloats(t)) all.add(v);
      float[] a = new float[all.size()];
      for (int i = 0; i < a.length; i++) a[i] = all.get(i);
      return a;
    });
    float[] expected = {2, 4, 6, 8, 10, 12, 2, -2, 1, 16, 2, 2, 2, 2, 2};   // mean of 1x and 3x: 2x
    assertThat(results.get(0)).containsExactly(expected);
    assertThat(results.get(1)).containsExactly(expected);
  }

  @Test
  void broadcastGivesEveryRankRankZerosValuesAndAllgatherEveryRanksBytes() throws Exception {
    Engine.init();
    List<String> results = onRanks(2, g -> {
      Tensor t = Tensors.fromFloats(new float[] {g.rank() + 1f, 7f}, 2);
      g.broadcast(List.of(t), 0);
      byte[][] all = g.allgatherBytes(("rank" + g.rank() + (g.rank() == 1 ? " longer" : "")).getBytes());
      g.barrier("test");
      return java.util.Arrays.toString(Tensors.toFloats(t)) + " " + new String(all[0]) + "|" + new String(all[1]);
    });
    assertThat(results).containsOnly("[1.0, 7.0] rank0|rank1 longer");
  }

  @Test
  void differentWorldSizesAreOneClearLine() throws Exception {
    Engine.init();
    int port = freePort();
    CompletableFuture<String> r0 = failure(() -> ProcessGroups.init(config(0, 2, port, SHORT)));
    CompletableFuture<String> r1 = failure(() -> ProcessGroups.init(config(1, 3, port, SHORT)));
    assertThat(r1.get(30, TimeUnit.SECONDS)).isEqualTo("world size mismatch: this rank (1) has WORLD_SIZE 3 but "
        + "rank 0 has 2 (give every node the same --nnodes x --nproc-per-node)");
    assertThat(r0.get(30, TimeUnit.SECONDS)).isEqualTo("world size mismatch: rank 1 has WORLD_SIZE 3 but rank 0 has "
        + "2 (give every node the same --nnodes x --nproc-per-node)");
  }

  @Test
  void aPortInUseIsOneClearLine() throws Exception {
    Engine.init();
    try (ServerSocket taken = new ServerSocket(0)) {
      int port = taken.getLocalPort();
      assertThatThrownBy(() -> ProcessGroups.init(config(0, 2, port, SHORT)))
          .isInstanceOf(ProcessGroups.DistributedException.class)
          .hasMessage("--master-port " + port + " is already in use on 127.0.0.1 (another job's rendezvous?): "
              + "choose another --master-port");
    }
  }

  @Test
  void anUnreachableMasterFailsWithinTheTimeoutWithOneLine() throws Exception {
    Engine.init();
    int port = freePort();   // nobody listens there
    long start = System.nanoTime();
    assertThatThrownBy(() -> ProcessGroups.init(config(1, 2, port, SHORT)))
        .isInstanceOf(ProcessGroups.DistributedException.class)
        .hasMessageStartingWith("rank 1 cannot reach the rendezvous at 127.0.0.1:" + port + " within ")
        .hasMessageContaining("is rank 0 running there, and are --master-addr / --master-port right?")
        .hasMessageNotContaining("\n");
    assertThat((System.nanoTime() - start) / 1e9).as("seconds until the error").isLessThan(SHORT.toSeconds() + 10);
  }

  @Test
  void aRankThatNeverJoinsIsNamedAfterTheTimeout() throws Exception {
    Engine.init();
    int port = freePort();
    assertThatThrownBy(() -> ProcessGroups.init(config(0, 2, port, SHORT)))
        .hasMessage("rendezvous timed out after 4 s: rank(s) [1] never joined (WORLD_SIZE 2; are all nodes and "
            + "processes started?)");
  }

  @Test
  void aRankStartedTwiceIsNamed() throws Exception {
    Engine.init();
    int port = freePort();
    CompletableFuture<String> r0 = failure(() -> ProcessGroups.init(config(0, 3, port, SHORT)));
    CompletableFuture<String> a = failure(() -> ProcessGroups.init(config(1, 3, port, SHORT)));
    Thread.sleep(500);
    CompletableFuture<String> b = failure(() -> ProcessGroups.init(config(1, 3, port, SHORT)));
    List<String> messages = List.of(a.get(30, TimeUnit.SECONDS), b.get(30, TimeUnit.SECONDS));
    assertThat(messages).contains("rank 1 was started twice (RANK must be unique; check --node-rank / RANK of each "
        + "process)");
    r0.get(30, TimeUnit.SECONDS);
  }

  @Test
  void ncclWithoutCudaIsOneClearLine() {
    Engine.init();
    assumeTrue(!Engine.cudaAvailable(), "this machine has CUDA");
    assertThatThrownBy(() -> ProcessGroups.init(new Config(0, 1, 0, "127.0.0.1", 29500, BackendKind.NCCL, SHORT)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("--backend nccl needs CUDA GPUs and the GPU build (-Pgpu), and this process sees none: use "
            + "--backend gloo");
  }

  @Test
  void theEnvironmentOfTorchrunIsRecognised() {
    Config c = Config.fromEnvironment(Map.of("WORLD_SIZE", "4", "RANK", "3", "LOCAL_RANK", "1", "MASTER_ADDR",
        "node0", "MASTER_PORT", "1234"), BackendKind.GLOO, SHORT).orElseThrow();
    assertThat(c).isEqualTo(new Config(3, 4, 1, "node0", 1234, BackendKind.GLOO, SHORT));
    assertThat(Config.fromEnvironment(Map.of(), BackendKind.GLOO, SHORT)).isEmpty();
    assertThatThrownBy(() -> Config.fromEnvironment(Map.of("WORLD_SIZE", "2", "RANK", "2"), BackendKind.GLOO, SHORT))
        .hasMessage("RANK 2 is outside the world of 2 (WORLD_SIZE): ranks are 0..1");
    assertThatThrownBy(() -> Config.fromEnvironment(Map.of("WORLD_SIZE", "2"), BackendKind.GLOO, SHORT))
        .hasMessageContaining("RANK is not set");
  }

  private static CompletableFuture<String> failure(java.util.concurrent.Callable<ProcessGroups> init) {
    return CompletableFuture.supplyAsync(() -> {
      try (ProcessGroups g = init.call()) {
        return "no error";
      } catch (Exception e) {
        return e.getMessage();
      }
    });
  }
}
