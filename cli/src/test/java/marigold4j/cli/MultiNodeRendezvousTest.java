package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import marigold4j.testing.Golden;
import marigold4j.train.MetricsLog;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two "hosts": network namespaces joined by a veth pair (10.231.0.1 and 10.231.0.2), made by the test with
 * {@code ip netns} (needs root; skipped with the reason otherwise). Each runs {@code train --nnodes 2 --node-rank R
 * --master-addr 10.231.0.1 --nproc-per-node 1}, so the rendezvous and the Gloo connections cross the veth link, not
 * loopback.
 */
class MultiNodeRendezvousTest {
  private static final String NS0 = "m4j" + ProcessHandle.current().pid() + "a";
  private static final String NS1 = "m4j" + ProcessHandle.current().pid() + "b";
  private static final String MASTER = "10.231.0.1";
  private static String unavailable;

  @TempDir Path tmp;

  @BeforeAll
  static void makeTwoHosts() {
    try {
      String veth0 = "v" + ProcessHandle.current().pid() + "a";
      String veth1 = "v" + ProcessHandle.current().pid() + "b";
      ip("netns", "add", NS0);
      ip("netns", "add", NS1);
      ip("link", "add", veth0, "type", "veth", "peer", "name", veth1);
      ip("link", "set", veth0, "netns", NS0);
      ip("link", "set", veth1, "netns", NS1);
      ip("-n", NS0, "addr", "add", MASTER + "/24", "dev", veth0);
      ip("-n", NS1, "addr", "add", "10.231.0.2/24", "dev", veth1);
      for (String ns : List.of(NS0, NS1)) {
        ip("-n", ns, "link", "set", "lo", "up");
        ip("-n", ns, "link", "set", ns.equals(NS0) ? veth0 : veth1, "up");
      }
    } catch (IOException | InterruptedException | IllegalStateException e) {
      unavailable = "network namespaces cannot be made here (needs root and iproute2): " + e.getMessage();
    }
  }

  @AfterAll
  static void removeHosts() throws Exception {
    for (String ns : List.of(NS0, NS1)) {
      try {
        ip("netns", "del", ns);
      } catch (IOException | IllegalStateException ignored) {
        // not made
      }
    }
  }

  private static String ip(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("ip"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + ": " + out.strip());
    }
    return out;
  }

  @Test
  void twoNodesMeetAtTheMasterAddressAndTrainTogether() throws Exception {
    assumeTrue(unavailable == null, unavailable);
    Path fix = Golden.fixtures();
    Path out = tmp.resolve("run");
    List<String> train = List.of("--base", fix.resolve("checkpoints/tiny-marigold-depth").toString(), "--modality",
        "depth", "--output", out.toString(), "--hypersim-dir",
        fix.resolve("train_data/hypersim/data/hypersim/processed").toString(), "--noise-type", "zeros",
        "--max-train-steps", "1", "--train-batch-size", "1", "--gradient-accumulation-steps", "1",
        "--checkpointing-steps", "1", "--lr-exp-warmup-steps", "0", "--data-workers", "1", "--dist-timeout", "60",
        "--nproc-per-node", "1", "--nnodes", "2", "--master-addr", MASTER, "--master-port", "29555");
    List<CompletableFuture<String[]>> nodes = new ArrayList<>();
    List<Process> procs = new ArrayList<>();
    for (int node = 0; node < 2; node++) {
      List<String> args = new ArrayList<>(List.of("train"));
      args.addAll(train);
      args.addAll(List.of("--node-rank", Integer.toString(node)));
      List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", node == 0 ? NS0 : NS1));
      List<String> java = DistributedLauncher.javaCommand(args);
      cmd.addAll(java);
      Process p = new ProcessBuilder(cmd).start();
      procs.add(p);
      nodes.add(CompletableFuture.supplyAsync(() -> {
        try {
          CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
          String o = read(p.getInputStream());
          return new String[] {o, err.get()};
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    try {
      for (int node = 0; node < 2; node++) {
        assertThat(procs.get(node).waitFor(300, TimeUnit.SECONDS)).as("node " + node + " finished").isTrue();
        String[] o = nodes.get(node).get(10, TimeUnit.SECONDS);
        assertThat(procs.get(node).exitValue()).as("node " + node + ": " + o[1]).isZero();
        if (node == 0) {
          assertThat(o[0]).contains("world size 2, rendezvous " + MASTER + ":29555")
              .contains("data parallel: 2 ranks (gloo)").contains("step 1/1");
        }
      }
    } finally {
      procs.forEach(Process::destroyForcibly);
    }
    assertThat(MetricsLog.read(out.resolve(MetricsLog.DEFAULT_FILE))).hasSize(1);
    assertThat(out.resolve("checkpoint-1/random_states_1.json")).exists();
  }

  private static String read(java.io.InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }
}
