package marigold4j.torch;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Boots the native PyTorch library once per JVM and selects devices and thread counts.
 *
 * <p>Every entry point that touches tensors calls {@link #init()} first. The natives are pre-extracted into the
 * JavaCPP cache before the first {@code Loader.load}: loading them lazily from an empty cache crashes libtorch's
 * static initialisers (see docs/ENGINE.md, pitfall 1), and CI always starts with an empty cache.
 */
public final class Engine {
  private static final Logger LOG = LoggerFactory.getLogger(Engine.class);
  private static volatile boolean ready;

  private Engine() {}

  /** Extracts and loads the natives (idempotent, thread-safe). */
  public static void init() {
    if (ready) return;
    synchronized (Engine.class) {
      if (ready) return;
      String platform = Loader.getPlatform();
      for (String dir : new String[] {platform, platform + "-gpu"}) {
        String resource = "/org/bytedeco/pytorch/" + dir + "/";
        if (Engine.class.getResource(resource) == null) continue;
        try {
          Loader.cacheResources(resource);
        } catch (java.io.IOException e) {
          throw new IllegalStateException("cannot extract the PyTorch natives to the JavaCPP cache: " + e.getMessage(), e);
        }
      }
      Loader.load(torch.class);
      ready = true;
      LOG.debug("libtorch loaded, {} intra-op threads", torch.get_num_threads());
    }
  }

  /** Sets the intra-op thread count (and, for fp32 GEMM, OpenBLAS's own pool). */
  public static void setThreads(int threads) {
    init();
    if (threads <= 0) return;
    torch.set_num_threads(threads);
    try {
      org.bytedeco.openblas.global.openblas_nolapack.blas_set_num_threads(threads);
    } catch (Throwable e) {
      LOG.debug("OpenBLAS thread count not set: {}", e.toString());
    }
  }

  /**
   * Runs {@code op} with OpenBLAS on one thread, for ops that call BLAS from inside torch's own parallel loops
   * ({@code scaled_dot_product_attention} multiplies its query and key blocks there). OpenBLAS does not notice the
   * nesting and runs its own thread pool inside every torch thread, oversubscribing the cores: fp32 attention over
   * 5 x 6912 tokens took 1.0-1.15 s that way and 0.43-0.46 s with one BLAS thread on the 2-core machine. (Python
   * torch is built against MKL, which runs sequentially when called from a parallel region.) Not for plain matrix
   * products, which need OpenBLAS's threads: a linear layer is 2x slower on one.
   */
  public static <T> T withSingleThreadedBlas(java.util.function.Supplier<T> op) {
    int threads;
    try {
      threads = org.bytedeco.openblas.global.openblas_nolapack.blas_get_num_threads();
    } catch (Throwable e) {
      return op.get();                                     // no OpenBLAS in this build (e.g. another BLAS)
    }
    if (threads == 1) return op.get();
    // -1 means never set: OpenBLAS then runs its default pool; afterwards it gets torch's count, as setThreads gives
    if (threads <= 0) threads = torch.get_num_threads();
    org.bytedeco.openblas.global.openblas_nolapack.blas_set_num_threads(1);
    try {
      return op.get();
    } finally {
      org.bytedeco.openblas.global.openblas_nolapack.blas_set_num_threads(threads);
    }
  }

  /**
   * Parses {@code cpu}, {@code cuda} or {@code cuda:N}; fails with a clear message when CUDA is requested but this
   * build or host has none.
   */
  public static Device device(String spec) {
    init();
    String s = spec == null ? "cpu" : spec.trim().toLowerCase(java.util.Locale.ROOT);
    if (s.equals("cpu")) return new Device(torch.DeviceType.CPU);
    if (!s.matches("cuda(:\\d+)?")) {
      throw new IllegalArgumentException("unknown device '" + spec + "': use cpu, cuda or cuda:N");
    }
    if (!cudaAvailable()) {
      throw new IllegalArgumentException("device '" + spec + "' requested but CUDA is not available: build with -Pgpu "
          + "and install the CUDA runtime (see README, 'GPU')");
    }
    int index = s.contains(":") ? Integer.parseInt(s.substring(5)) : 0;
    return new Device(torch.DeviceType.CUDA, (byte) index);
  }

  public static boolean cudaAvailable() {
    init();
    try {
      return torch.cuda_is_available();
    } catch (Throwable e) {
      return false;
    }
  }
}
