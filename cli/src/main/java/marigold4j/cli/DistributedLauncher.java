package marigold4j.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * What {@code torchrun --nproc-per-node N --nnodes M --node-rank R --master-addr A --master-port P} does for a
 * PyTorch script, for {@code marigold4j train}: starts N worker JVMs on this node (the same java, class path and JVM
 * options) with torchrun's environment ({@code WORLD_SIZE}, {@code RANK}, {@code LOCAL_RANK},
 * {@code LOCAL_WORLD_SIZE}, {@code MASTER_ADDR}, {@code MASTER_PORT}), forwards their output (rank 0's as it is, the
 * others' prefixed with {@code [rank r]}) and supervises them: when one fails, the others are stopped and the exit
 * code is non-zero with a line naming the rank.
 */
final class DistributedLauncher {
  /** The launcher's own options: not passed on to the workers (they get the environment instead). */
  static final Set<String> LAUNCH_OPTIONS = Set.of("--nproc-per-node", "--nnodes", "--node-rank", "--master-addr",
      "--master-port");
  private static final long GRACE_MS = 5_000;

  private DistributedLauncher() {}

  /** Runs the workers of this node to the end; returns the exit code. */
  static int launch(List<String> trainArgs, int nprocPerNode, int nnodes, int nodeRank, String masterAddr,
      int masterPort, PrintWriter out, PrintWriter err) {
    if (nprocPerNode < 1) throw new IllegalArgumentException("--nproc-per-node must be >= 1, got " + nprocPerNode);
    if (nnodes < 1) throw new IllegalArgumentException("--nnodes must be >= 1, got " + nnodes);
    if (nodeRank < 0 || nodeRank >= nnodes) {
      throw new IllegalArgumentException("--node-rank must be in 0.." + (nnodes - 1) + " for --nnodes " + nnodes
          + ", got " + nodeRank);
    }
    if (masterPort < 1 || masterPort > 65535) {
      throw new IllegalArgumentException("--master-port must be 1..65535, got " + masterPort);
    }
    if (nodeRank == 0) requireFreePort(masterPort);
    int world = nnodes * nprocPerNode;
    int threads = Math.max(1, Runtime.getRuntime().availableProcessors() / nprocPerNode);
    out.printf("launching %d worker(s) on node %d of %d (world size %d, rendezvous %s:%d)%n", nprocPerNode, nodeRank,
        nnodes, world, masterAddr, masterPort);
    out.flush();
    List<Process> procs = new ArrayList<>();
    List<Thread> pumps = new ArrayList<>();
    Thread hook = new Thread(() -> procs.forEach(DistributedLauncher::stop));
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      for (int local = 0; local < nprocPerNode; local++) {
        int rank = nodeRank * nprocPerNode + local;
        ProcessBuilder pb = new ProcessBuilder(workerCommand(trainArgs));
        Map<String, String> env = pb.environment();
        env.put("WORLD_SIZE", Integer.toString(world));
        env.put("RANK", Integer.toString(rank));
        env.put("LOCAL_RANK", Integer.toString(local));
        env.put("LOCAL_WORLD_SIZE", Integer.toString(nprocPerNode));
        env.put("GROUP_RANK", Integer.toString(nodeRank));
        env.put("MASTER_ADDR", masterAddr);
        env.put("MASTER_PORT", Integer.toString(masterPort));
        // as torchrun: do not let N workers each take every core
        env.putIfAbsent("OMP_NUM_THREADS", Integer.toString(threads));
        Process p;
        try {
          p = pb.start();
        } catch (IOException e) {
          throw new java.io.UncheckedIOException("cannot start worker " + rank + ": " + e.getMessage(), e);
        }
        procs.add(p);
        String prefix = rank == 0 ? "" : "[rank " + rank + "] ";
        pumps.add(pump(p.getInputStream(), out, prefix));
        pumps.add(pump(p.getErrorStream(), err, prefix));
      }
      return supervise(procs, nodeRank * nprocPerNode, out, err);
    } finally {
      procs.forEach(DistributedLauncher::stop);
      for (Thread t : pumps) {
        try {
          t.join(2_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      out.flush();
      err.flush();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException ignored) {
        // shutting down already
      }
    }
  }

  /** Waits for all workers; the first one to fail stops the others. */
  private static int supervise(List<Process> procs, int firstRank, PrintWriter out, PrintWriter err) {
    boolean[] done = new boolean[procs.size()];
    int remaining = procs.size();
    while (remaining > 0) {
      for (int i = 0; i < procs.size(); i++) {
        Process p = procs.get(i);
        if (done[i] || p.isAlive()) continue;
        done[i] = true;
        remaining--;
        int code = p.exitValue();
        if (code != 0) {
          int others = 0;
          for (int j = 0; j < procs.size(); j++) if (!done[j] && procs.get(j).isAlive()) others++;
          sleepQuietly(300);   // let its last lines through before the others' reactions
          err.printf("error: rank %d failed (%s); stopping the %d other worker(s) of this node%n", firstRank + i,
              describe(code), others);
          err.flush();
          for (Process q : procs) stop(q);
          return 1;
        }
      }
      sleepQuietly(100);
    }
    return 0;
  }

  private static String describe(int code) {
    if (code > 128 && code < 160) {
      String sig = switch (code - 128) {
        case 9 -> "SIGKILL";
        case 15 -> "SIGTERM";
        case 6 -> "SIGABRT";
        case 11 -> "SIGSEGV";
        case 2 -> "SIGINT";
        default -> "signal " + (code - 128);
      };
      return "killed by " + sig + ", exit code " + code;
    }
    return "exit code " + code;
  }

  /** SIGTERM, then SIGKILL after a grace period. */
  private static void stop(Process p) {
    if (!p.isAlive()) return;
    p.destroy();
    try {
      if (!p.waitFor(GRACE_MS, TimeUnit.MILLISECONDS)) p.destroyForcibly().waitFor(GRACE_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  /** The worker's command line: this JVM's java, options and class path, the train command without launch options. */
  static List<String> workerCommand(List<String> trainArgs) {
    List<String> args = new ArrayList<>(List.of("train"));
    args.addAll(withoutLaunchOptions(trainArgs));
    return javaCommand(args);
  }

  /** {@code marigold4j <args>} in a new JVM like this one (the same java, JVM options and class path). */
  static List<String> javaCommand(List<String> args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      // a debugger port or a coverage agent's exclusive file cannot be shared by several JVMs
      if (a.startsWith("-agentlib:jdwp") || a.startsWith("-Xrunjdwp")) continue;
      cmd.add(a);
    }
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(Main.class.getName());
    cmd.addAll(args);
    return cmd;
  }

  /** {@code args} without the launcher's options and their values ({@code --opt V} and {@code --opt=V}). */
  static List<String> withoutLaunchOptions(List<String> args) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      int eq = a.indexOf('=');
      String name = eq < 0 ? a : a.substring(0, eq);
      if (LAUNCH_OPTIONS.contains(name)) {
        if (eq < 0) i++;
        continue;
      }
      out.add(a);
    }
    return out;
  }

  /** Rank 0 hosts the rendezvous on this node: a taken port is one clear line before any worker starts. */
  private static void requireFreePort(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(port));
    } catch (BindException e) {
      throw new IllegalArgumentException("--master-port " + port + " is already in use on this host (another job's "
          + "rendezvous?): choose another --master-port");
    } catch (IOException e) {
      throw new IllegalArgumentException("--master-port " + port + " cannot be opened on this host: " + e.getMessage());
    }
  }

  private static Thread pump(InputStream in, PrintWriter to, String prefix) {
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          synchronized (to) {
            to.println(prefix + line);
            to.flush();
          }
        }
      } catch (IOException ignored) {
        // the worker is gone
      }
    }, "worker-output");
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static void sleepQuietly(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
