package marigold4j.torch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.javacpp.chrono.Milliseconds;
import org.bytedeco.pytorch.AllreduceOptions;
import org.bytedeco.pytorch.Backend;
import org.bytedeco.pytorch.BroadcastOptions;
import org.bytedeco.pytorch.ByteVector;
import org.bytedeco.pytorch.GlooDeviceVector;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ProcessGroupGloo;
import org.bytedeco.pytorch.ReduceOp;
import org.bytedeco.pytorch.StringVector;
import org.bytedeco.pytorch.TCPStore;
import org.bytedeco.pytorch.TCPStoreOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.Work;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@code torch.distributed} process group through libtorch's c10d: the rendezvous is a {@code TCPStore} hosted by
 * rank 0 at {@code MASTER_ADDR:MASTER_PORT} (as {@code init_process_group("env://")}), the collectives run on
 * {@code ProcessGroupGloo} (CPU tensors) or {@code ProcessGroupNCCL} (CUDA tensors; its natives come with the GPU
 * build only).
 *
 * <p>Beyond what c10d gives: the rendezvous checks that every rank agrees on the world size and that no rank is
 * started twice; every collective is bounded by the timeout; each rank publishes a heartbeat and the number of
 * collectives it has entered in the store, so that a failed collective names the rank that died, hung or fell
 * behind ({@link DistributedException}).
 */
public final class ProcessGroups implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ProcessGroups.class);
  /** DDP's default bucket size (25 MiB). */
  public static final long DEFAULT_BUCKET_BYTES = 25L << 20;
  private static final String KEY = "marigold4j/";
  private static final long HEARTBEAT_MS = 500;

  /** Which c10d backend runs the collectives. */
  public enum BackendKind {
    GLOO, NCCL;

    public static BackendKind parse(String s) {
      return switch (s.toLowerCase(Locale.ROOT)) {
        case "gloo" -> GLOO;
        case "nccl" -> NCCL;
        default -> throw new IllegalArgumentException("--backend must be gloo or nccl, got '" + s + "'");
      };
    }
  }

  /**
   * Where this process sits in the job: torchrun's environment ({@code WORLD_SIZE}, {@code RANK},
   * {@code LOCAL_RANK}, {@code MASTER_ADDR}, {@code MASTER_PORT}).
   *
   * @param timeout bounds the rendezvous and every collective
   */
  public record Config(int rank, int worldSize, int localRank, String masterAddr, int masterPort,
      BackendKind backend, Duration timeout) {
    public Config {
      if (worldSize < 1) throw new IllegalArgumentException("WORLD_SIZE must be >= 1, got " + worldSize);
      if (rank < 0 || rank >= worldSize) {
        throw new IllegalArgumentException("RANK " + rank + " is outside the world of " + worldSize
            + " (WORLD_SIZE): ranks are 0.." + (worldSize - 1));
      }
      if (masterPort < 1 || masterPort > 65535) {
        throw new IllegalArgumentException("MASTER_PORT must be 1..65535, got " + masterPort);
      }
      if (masterAddr == null || masterAddr.isBlank()) throw new IllegalArgumentException("MASTER_ADDR is empty");
      if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("the timeout must be > 0");
    }

    /**
     * The configuration torchrun, Slurm wrappers and Kubernetes' PyTorchJob give a worker; empty when
     * {@code WORLD_SIZE} is not set.
     */
    public static java.util.Optional<Config> fromEnvironment(Map<String, String> env, BackendKind backend,
        Duration timeout) {
      String ws = env.get("WORLD_SIZE");
      if (ws == null || ws.isBlank()) return java.util.Optional.empty();
      int world = intVar(env, "WORLD_SIZE", null);
      int rank = intVar(env, "RANK", null);
      int local = intVar(env, "LOCAL_RANK", "0");
      String addr = env.getOrDefault("MASTER_ADDR", "127.0.0.1");
      int port = intVar(env, "MASTER_PORT", "29500");
      return java.util.Optional.of(new Config(rank, world, local, addr, port, backend, timeout));
    }

    private static int intVar(Map<String, String> env, String name, String dflt) {
      String v = env.get(name);
      if (v == null || v.isBlank()) {
        if (dflt == null) throw new IllegalArgumentException(name + " is not set (WORLD_SIZE is: a distributed worker "
            + "needs RANK too)");
        v = dflt;
      }
      try {
        return Integer.parseInt(v.strip());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(name + " must be an integer, got '" + v + "'");
      }
    }
  }

  private final Config config;
  private final TCPStore store;
  private final Backend pg;
  private final Thread heartbeat;
  private volatile boolean closed;
  private long collectives;

  private ProcessGroups(Config config, TCPStore store, Backend pg) {
    this.config = config;
    this.store = store;
    this.pg = pg;
    this.heartbeat = new Thread(this::beat, "dist-heartbeat");
    heartbeat.setDaemon(true);
    heartbeat.start();
  }

  /**
   * Joins the job: rank 0 hosts the store, every rank checks the others' world size, then the process group
   * connects all ranks. Fails within {@code config.timeout()} with one line naming the problem.
   */
  public static ProcessGroups init(Config c) {
    Engine.init();
    if (c.backend() == BackendKind.NCCL && !Engine.cudaAvailable()) {
      throw new IllegalArgumentException("--backend nccl needs CUDA GPUs and the GPU build (-Pgpu), and this process "
          + "sees none: use --backend gloo");
    }
    long ms = c.timeout().toMillis();
    String where = c.masterAddr() + ":" + c.masterPort();
    TCPStore store;
    long start = System.nanoTime();
    try {
      TCPStoreOptions o = new TCPStoreOptions().port((short) c.masterPort()).isServer(c.rank() == 0)
          .numWorkers(new SizeTPointer(1).put(c.worldSize())).waitWorkers(false).timeout(new Milliseconds(ms));
      store = new TCPStore(c.masterAddr(), o);
    } catch (RuntimeException e) {
      String m = firstLine(e);
      if (c.rank() == 0 && (m.contains("EADDRINUSE") || m.toLowerCase(Locale.ROOT).contains("address already in use"))) {
        throw new DistributedException("--master-port " + c.masterPort() + " is already in use on " + c.masterAddr()
            + " (another job's rendezvous?): choose another --master-port");
      }
      if (c.rank() == 0) {
        throw new DistributedException("rank 0 cannot host the rendezvous at " + where + ": " + m);
      }
      throw new DistributedException("rank " + c.rank() + " cannot reach the rendezvous at " + where + " within "
          + seconds(System.nanoTime() - start) + " (is rank 0 running there, and are --master-addr / --master-port "
          + "right?): " + m);
    }
    try {
      rendezvous(store, c);
    } catch (RuntimeException e) {
      if (e instanceof DistributedException) throw e;
      throw new DistributedException("rank " + c.rank() + ": rendezvous at " + where + " failed: " + firstLine(e));
    }
    Backend pg;
    try {
      pg = c.backend() == BackendKind.GLOO ? gloo(store, c, ms) : nccl(store, c, ms);
    } catch (RuntimeException e) {
      throw new DistributedException("rank " + c.rank() + ": the " + c.backend().name().toLowerCase(Locale.ROOT)
          + " process group could not connect all " + c.worldSize() + " ranks: " + firstLine(e));
    }
    LOG.info("rank {}/{}: {} process group up in {} ms", c.rank(), c.worldSize(), c.backend(),
        (System.nanoTime() - start) / 1_000_000);
    return new ProcessGroups(c, store, pg);
  }

  /** Every rank announces its world size; a rank started twice or a different world size is one clear error. */
  private static void rendezvous(TCPStore store, Config c) {
    long joined = store.add(KEY + "joined/" + c.rank(), 1);
    if (joined > 1) {
      throw new DistributedException("rank " + c.rank() + " was started twice (RANK must be unique; check "
          + "--node-rank / RANK of each process)");
    }
    store.set(KEY + "world/" + c.rank(), bytes(Integer.toString(c.worldSize())));
    List<String> keys = new ArrayList<>();
    for (int r = 0; r < c.worldSize(); r++) keys.add(KEY + "world/" + r);
    // rank 0's value first: a rank with a wrong world size learns it at once, not after the timeout
    int rank0 = Integer.parseInt(string(waitGet(store, keys.get(0), c, List.of(0))));
    if (rank0 != c.worldSize()) {
      throw new DistributedException("world size mismatch: this rank (" + c.rank() + ") has WORLD_SIZE "
          + c.worldSize() + " but rank 0 has " + rank0 + " (give every node the same --nnodes x --nproc-per-node)");
    }
    List<Integer> all = new ArrayList<>();
    for (int r = 0; r < c.worldSize(); r++) all.add(r);
    for (int r = 1; r < c.worldSize(); r++) {
      int other = Integer.parseInt(string(waitGet(store, keys.get(r), c, all)));
      if (other != c.worldSize()) {
        throw new DistributedException("world size mismatch: rank " + r + " has WORLD_SIZE " + other + " but rank "
            + c.rank() + " has " + c.worldSize() + " (give every node the same --nnodes x --nproc-per-node)");
      }
    }
  }

  private static ByteVector waitGet(TCPStore store, String key, Config c, List<Integer> expected) {
    try {
      store._wait(new StringVector(key), new Milliseconds(c.timeout().toMillis()));
    } catch (RuntimeException e) {
      List<Integer> missing = new ArrayList<>();
      for (int r : expected) {
        try {
          if (!store.check(new StringVector(KEY + "world/" + r))) missing.add(r);
        } catch (RuntimeException ignored) {
          missing.add(r);
        }
      }
      throw new DistributedException("rendezvous timed out after " + c.timeout().toSeconds() + " s: rank(s) "
          + missing + " never joined (WORLD_SIZE " + c.worldSize() + "; are all nodes and processes started?)");
    }
    return store.get(key);
  }

  private static Backend gloo(TCPStore store, Config c, long ms) {
    ProcessGroupGloo.Options o = new ProcessGroupGloo.Options(new Milliseconds(ms));
    String ifname = System.getenv("GLOO_SOCKET_IFNAME");
    org.bytedeco.pytorch.gloo.Device device;
    if (ifname != null && !ifname.isBlank()) {
      device = ProcessGroupGloo.createDeviceForInterface(ifname.split(",")[0]);
    } else if (isLoopback(c.masterAddr())) {
      device = ProcessGroupGloo.createDeviceForHostname("127.0.0.1");
    } else {
      // the address of the interface that routes to the master (torch resolves the host name instead, which fails
      // on hosts whose name maps to another or no interface); GLOO_SOCKET_IFNAME overrides it as in torch
      String local = localAddressTowards(c.masterAddr(), c.masterPort());
      device = local == null ? ProcessGroupGloo.createDefaultDevice() : ProcessGroupGloo.createDeviceForHostname(local);
    }
    o.devices(new GlooDeviceVector(device));
    return new ProcessGroupGloo(store, c.rank(), c.worldSize(), o);
  }

  private static Backend nccl(TCPStore store, Config c, long ms) {
    org.bytedeco.pytorch.nccl.ProcessGroupNCCL.Options o = org.bytedeco.pytorch.nccl.ProcessGroupNCCL.Options.create();
    o.timeout(new Milliseconds(ms));
    return new org.bytedeco.pytorch.nccl.ProcessGroupNCCL(store, c.rank(), c.worldSize(), o);
  }

  /** This host's address on the route to {@code host} (no packet is sent), or null. */
  private static String localAddressTowards(String host, int port) {
    try (java.net.DatagramSocket s = new java.net.DatagramSocket()) {
      s.connect(java.net.InetAddress.getByName(host), port);
      java.net.InetAddress a = s.getLocalAddress();
      return a == null || a.isAnyLocalAddress() ? null : a.getHostAddress();
    } catch (java.io.IOException e) {
      return null;
    }
  }

  private static boolean isLoopback(String host) {
    try {
      return java.net.InetAddress.getByName(host).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  public int rank() {
    return config.rank();
  }

  public int worldSize() {
    return config.worldSize();
  }

  public Config config() {
    return config;
  }

  /**
   * Replaces each tensor by the mean of that tensor over all ranks, communicating in buckets of at most
   * {@code bucketBytes}: the tensors are flattened into one contiguous buffer per bucket, all-reduced (sum), divided
   * by the world size and copied back. Tensors must have the same shapes, order and dtype on every rank.
   */
  public void allreduceMean(List<Tensor> tensors, long bucketBytes) {
    List<List<Tensor>> buckets = new ArrayList<>();
    List<Tensor> current = new ArrayList<>();
    long bytes = 0;
    for (Tensor t : tensors) {
      long b = t.numel() * t.element_size();
      if (!current.isEmpty() && (bytes + b > bucketBytes || Tensors.dtype(t) != Tensors.dtype(current.get(0)))) {
        buckets.add(current);
        current = new ArrayList<>();
        bytes = 0;
      }
      current.add(t);
      bytes += b;
    }
    if (!current.isEmpty()) buckets.add(current);
    try (NoGradGuard ng = new NoGradGuard()) {
      for (List<Tensor> bucket : buckets) {
        try (PointerScope scope = new PointerScope()) {
          List<Tensor> flat = new ArrayList<>(bucket.size());
          for (Tensor t : bucket) flat.add(t.reshape(-1));
          Tensor buffer = bucket.size() == 1 ? flat.get(0).clone() : F.cat(0, flat);   // (sum of numel)
          run("allreduce", () -> pg.allreduce(new TensorVector(buffer), sum()));
          buffer.div_(F.s(config.worldSize()));
          long offset = 0;
          for (Tensor t : bucket) {
            long n = t.numel();
            t.copy_(buffer.narrow(0, offset, n).view(t.sizes().vec().get()));
            offset += n;
          }
        }
      }
    }
  }

  /**
   * Averages the gradients of {@code params} over all ranks (DDP's all-reduce, bucketed): a parameter whose gradient
   * is undefined here but defined on another rank takes zeros here first; one undefined on every rank stays
   * undefined (AdamW then skips it, as a single process would).
   */
  public void averageGradients(List<Tensor> params, long bucketBytes) {
    double[] defined = new double[params.size()];
    for (int i = 0; i < defined.length; i++) {
      try (Tensor g = params.get(i).grad()) {
        defined[i] = g.defined() ? 1 : 0;
      }
    }
    defined = allreduceSum(defined);
    List<Tensor> grads = new ArrayList<>();
    for (int i = 0; i < defined.length; i++) {
      if (defined[i] == 0) continue;
      Tensor p = params.get(i);
      Tensor g = p.grad();
      if (!g.defined()) {
        try (NoGradGuard ng = new NoGradGuard()) {
          p.mutable_grad().put(torch.zeros_like(p));
        }
        g = p.grad();
      }
      grads.add(g);
    }
    allreduceMean(grads, bucketBytes);
  }

  /**
   * A cheap fingerprint of {@code tensors}: the float64 sums of the values and of their absolute values, weighted by
   * position so that swapped tensors change it. Equal on every rank when the tensors are bitwise equal.
   */
  public static double[] checksum(List<Tensor> tensors) {
    double s = 0;
    double a = 0;
    try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
      int i = 0;
      for (Tensor t : tensors) {
        Tensor d = t.to(torch.ScalarType.Double);
        i++;
        s += i * d.sum().item_double();
        a += d.abs().sum().item_double();
      }
    }
    return new double[] {s, a};
  }

  /** Sums {@code values} elementwise over all ranks (float64; small vectors: losses, checksums). */
  public double[] allreduceSum(double[] values) {
    try (PointerScope scope = new PointerScope()) {
      Tensor t = Tensors.fromDoubles(values, values.length);
      run("allreduce", () -> pg.allreduce(new TensorVector(t), sum()));
      double[] out = new double[values.length];
      t.data_ptr_double().get(out);
      return out;
    }
  }

  /**
   * Every rank's {@code mine}, indexed by rank (an all-gather through one sum all-reduce: each rank fills its own
   * row of a zero matrix).
   */
  public byte[][] allgatherBytes(byte[] mine) {
    int world = config.worldSize();
    double[] lengths = new double[world];
    lengths[config.rank()] = mine.length;
    lengths = allreduceSum(lengths);
    int max = 0;
    for (double l : lengths) max = Math.max(max, (int) l);
    byte[][] out = new byte[world][];
    try (PointerScope scope = new PointerScope()) {
      byte[] row = new byte[world * Math.max(max, 1)];
      System.arraycopy(mine, 0, row, config.rank() * Math.max(max, 1), mine.length);
      Tensor t = Tensors.fromRawBytes(row, torch.ScalarType.Byte, world, Math.max(max, 1)).to(torch.ScalarType.Int);
      run("allreduce", () -> pg.allreduce(new TensorVector(t), sum()));
      byte[] all = Tensors.toBytes(t);
      for (int r = 0; r < world; r++) {
        out[r] = java.util.Arrays.copyOfRange(all, r * Math.max(max, 1), r * Math.max(max, 1) + (int) lengths[r]);
      }
    }
    return out;
  }

  /** Overwrites each tensor with rank {@code root}'s (in place). */
  public void broadcast(List<Tensor> tensors, int root) {
    try (NoGradGuard ng = new NoGradGuard()) {
      for (Tensor t : tensors) {
        try (PointerScope scope = new PointerScope()) {
          BroadcastOptions o = new BroadcastOptions();
          o.rootRank(root);
          Tensor c = t.is_contiguous() ? t : t.contiguous();
          run("broadcast", () -> pg.broadcast(new TensorVector(c), o));
          if (c != t) t.copy_(c);
        }
      }
    }
  }

  /** Waits until every rank has reached the barrier {@code what} (named in errors). */
  public void barrier(String what) {
    run("barrier (" + what + ")", pg::barrier);
  }

  /**
   * Records that this rank failed and why: the other ranks name it in their errors. Best effort (the store may be
   * gone).
   */
  public void reportFailure(String message) {
    try {
      store.set(KEY + "failed/" + config.rank(), bytes(message));
    } catch (RuntimeException ignored) {
      // the store's host (rank 0) is gone: nothing to tell
    }
  }

  private static AllreduceOptions sum() {
    return new AllreduceOptions().reduceOp(new ReduceOp(ReduceOp.RedOpType.SUM));
  }

  /** Runs one collective, bounded by the timeout; a failure names the rank(s) that caused it. */
  private void run(String what, Supplier<Work> collective) {
    long n = ++collectives;
    try {
      store.add(KEY + "progress/" + config.rank(), 1);
    } catch (RuntimeException e) {
      throw failure(what, n, e);
    }
    long start = System.nanoTime();
    try {
      Work w = collective.get();
      if (!w._wait(new Milliseconds(config.timeout().toMillis()))) {
        throw new IllegalStateException("timed out after " + config.timeout().toSeconds() + " s");
      }
    } catch (RuntimeException e) {
      LOG.debug("collective {} #{} failed after {}", what, n, seconds(System.nanoTime() - start), e);
      throw failure(what, n, e);
    }
  }

  /** Works out which rank made collective #n fail: one that reported an error, died, hung or fell behind. */
  private DistributedException failure(String what, long n, RuntimeException cause) {
    String prefix = "rank " + config.rank() + ": " + what + " #" + n + " failed";
    String detail = firstLine(cause);
    try {
      store.setTimeout(new Milliseconds(5_000));
      int world = config.worldSize();
      List<String> named = new ArrayList<>();
      long[] beats = new long[world];
      for (int r = 0; r < world; r++) beats[r] = store.add(KEY + "beat/" + r, 0);
      for (int r = 0; r < world; r++) {
        if (r != config.rank() && store.check(new StringVector(KEY + "failed/" + r))) {
          named.add("rank " + r + " failed: " + string(store.get(KEY + "failed/" + r)));
        }
      }
      if (named.isEmpty()) {
        TimeUnit.MILLISECONDS.sleep(5 * HEARTBEAT_MS);
        for (int r = 0; r < world; r++) {
          if (r != config.rank() && store.add(KEY + "beat/" + r, 0) == beats[r]) {
            named.add("rank " + r + " stopped (no heartbeat)");
          }
        }
      }
      if (named.isEmpty()) {
        for (int r = 0; r < world; r++) {
          long p = store.add(KEY + "progress/" + r, 0);
          if (r != config.rank() && p < n) named.add("rank " + r + " did not reach it (it is at collective #" + p + ")");
        }
      }
      if (!named.isEmpty()) return new DistributedException(prefix + ": " + String.join("; ", named) + " [" + detail + "]", cause);
      return new DistributedException(prefix + ": " + detail, cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new DistributedException(prefix + ": " + detail, cause);
    } catch (RuntimeException storeGone) {
      // the store lives in rank 0's process: unreachable means rank 0 is gone
      if (config.rank() != 0) {
        return new DistributedException(prefix + ": rank 0 stopped (its rendezvous store at " + config.masterAddr()
            + ":" + config.masterPort() + " is gone) [" + detail + "]", cause);
      }
      return new DistributedException(prefix + ": " + detail, cause);
    }
  }

  private void beat() {
    String key = KEY + "beat/" + config.rank();
    while (!closed) {
      try {
        store.add(key, 1);
        Thread.sleep(HEARTBEAT_MS);
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        if (closed) return;
        try {
          Thread.sleep(HEARTBEAT_MS);
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    heartbeat.interrupt();
    try {
      heartbeat.join(2 * HEARTBEAT_MS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The first line of an engine error, without the C++ source location that Gloo puts in front. */
  static String firstLine(Throwable e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().strip();
    int eol = m.indexOf('\n');
    m = eol < 0 ? m : m.substring(0, eol).strip();
    return m.replaceAll("\\[[^\\]\\s]*\\.(cc|cpp|h|hpp):\\d+\\]\\s*", "");
  }

  private static String seconds(long nanos) {
    return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
  }

  private static ByteVector bytes(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    ByteVector v = new ByteVector(b.length);
    for (int i = 0; i < b.length; i++) v.put(i, b[i]);
    return v;
  }

  private static String string(ByteVector v) {
    byte[] b = new byte[(int) v.size()];
    for (int i = 0; i < b.length; i++) b[i] = v.get(i);
    return new String(b, StandardCharsets.UTF_8);
  }

  /** A collective or rendezvous failure, in one line (an I/O failure: the network or a peer process). */
  public static final class DistributedException extends UncheckedIOException {
    public DistributedException(String message) {
      super(message, new IOException(message));
    }

    public DistributedException(String message, Throwable cause) {
      super(message, new IOException(message, cause));
    }
  }
}
