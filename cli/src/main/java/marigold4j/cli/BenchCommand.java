package marigold4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import marigold4j.pipeline.MarigoldArchitecture;
import marigold4j.pipeline.MarigoldOptions;
import marigold4j.pipeline.MarigoldPipeline;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;
import marigold4j.pipeline.StageTimer;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code marigold4j bench}: seconds per image and peak memory of the full-size Marigold / E2E-FT architecture with
 * random weights (no download), in the E2E-FT settings the reference measurement uses.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Measure seconds per image and peak memory of the full-size Marigold / E2E-FT depth architecture "
        + "(SD2 UNet + VAE, random weights, so nothing is downloaded) with the E2E-FT settings: 1 DDIM step, zeros "
        + "noise, processing resolution = max(width, height), output resized back to the input size.",
        "Reports the median, min and max seconds per image, the median per-stage times (VAE encode, UNet, VAE "
            + "decode), the peak resident memory (VmHWM) of this process and the CPU it ran on (model and the "
            + "AVX-512 / bf16 / AMX features that decide the kernels: compare times on one host only) and the "
            + "process settings the launcher makes for speed: the malloc serving native memory (tcmalloc, jemalloc "
            + "or system) and OPENBLAS_THREAD_TIMEOUT. Random "
            + "weights cost the same as real ones; the text encoder is not built (a real checkpoint runs it once at load, then releases it).",
        "With --checkpoint, a real checkpoint is loaded instead (its load time is reported too). On CUDA the stage "
            + "times are only indicative: kernels run asynchronously.",
        "See docs/performance.md for measured figures and how to compare with the original Python pipeline."})
public final class BenchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--width", paramLabel = "PX", defaultValue = "768",
      description = "Width of the benchmark image. Default: ${DEFAULT-VALUE}.")
  int width;

  @Option(names = "--height", paramLabel = "PX", defaultValue = "576",
      description = "Height of the benchmark image. Default: ${DEFAULT-VALUE}.")
  int height;

  @Option(names = "--runs", paramLabel = "N", defaultValue = "3",
      description = "Timed images. Default: ${DEFAULT-VALUE}.")
  int runs;

  @Option(names = "--warmup", paramLabel = "N", defaultValue = "1",
      description = "Untimed images before the timed ones (the first image pays one-off costs: kernel selection, "
          + "allocator growth). Default: ${DEFAULT-VALUE}.")
  int warmup;

  @Mixin RuntimeOptions runtime;

  @Option(names = "--json", description = "Print one JSON line on stdout instead of the text report.")
  boolean json;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "0",
      description = "Seed of the random weights and the random benchmark image. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--checkpoint", paramLabel = "ID_OR_DIR",
      description = "Benchmark this Marigold / E2E-FT depth checkpoint (a folder or a Hub id) instead of the "
          + "random-weight architecture; its load time (from disk or page cache, text encoder included) is reported "
          + "as load_s.")
  String checkpoint;

  @Mixin HubOptions hub;

  @Option(names = "--compare-precisions",
      description = "Measure fp32 and bf16 (fp16 on CUDA) in one run, their images alternated, and print their "
          + "ratio: which precision is faster on this machine. Both models are held at once (about 10 GB at full "
          + "size).")
  boolean comparePrecisions;

  @Option(names = "--config", paramLabel = "full|tiny", defaultValue = "full", hidden = true,
      description = "Architecture: full (the released checkpoints) or tiny (the test fixtures'). Default: "
          + "${DEFAULT-VALUE}.")
  String config;

  @Override
  public Integer call() {
    if (width < 8 || height < 8) {
      throw new IllegalArgumentException("--width and --height must be at least 8 pixels, got " + width + "x" + height);
    }
    if (runs < 1) throw new IllegalArgumentException("--runs must be at least 1, got " + runs);
    if (warmup < 0) throw new IllegalArgumentException("--warmup must be 0 or more, got " + warmup);
    runtime.validate();
    MarigoldArchitecture arch = MarigoldArchitecture.parse(config);
    PrintWriter err = spec.commandLine().getErr();
    PrintWriter out = spec.commandLine().getOut();

    Precision precision = runtime.start();
    String device = runtime.device;
    int res = Math.max(width, height);
    if (comparePrecisions) return comparePrecisions(arch, device, res, err, out);
    Path checkpointDir = checkpoint == null ? null : hub.resolve(checkpoint, runtime.variant, err);
    if (checkpointDir == null) {
      err.printf("Building the %s Marigold architecture with random weights (%s on %s, %d threads)%n",
          arch == MarigoldArchitecture.FULL_SIZE ? "full-size" : arch.cliName(), precision.label(), device,
          torch.get_num_threads());
    } else {
      err.printf("Loading %s (%s on %s, %d threads)%n", checkpoint, precision.label(), device,
          torch.get_num_threads());
    }
    err.flush();
    long buildStart = System.nanoTime();
    try (MarigoldPipeline pipe = checkpointDir == null ? MarigoldPipeline.random(arch, precision, device, seed)
        : MarigoldPipeline.load(checkpointDir, precision, device)) {
      double buildS = seconds(System.nanoTime() - buildStart);
      long rssAfterBuild = Rss.current();
      MarigoldOptions options = pipe.defaults(Modality.DEPTH).withProcessingRes(res);
      long[] stageNanos = new long[StageTimer.Stage.values().length];
      pipe.setStageTimer((stage, nanos) -> stageNanos[stage.ordinal()] += nanos);
      List<Double> times = new ArrayList<>();
      List<double[]> stages = new ArrayList<>();
      try (PointerScope imageScope = new PointerScope();
          Progress progress = Progress.start("Benchmarking " + width + "x" + height, warmup + runs, err)) {
        Tensor rgb = randomImage(seed);                    // (3, H, W) uint8, made once: not part of the timing
        for (int i = 0; i < warmup + runs; i++) {
          Arrays.fill(stageNanos, 0);
          long start = System.nanoTime();
          try (PointerScope scope = new PointerScope()) {
            pipe.predict(rgb, options, null);
          }
          double s = seconds(System.nanoTime() - start);
          boolean timed = i >= warmup;
          if (timed) {
            times.add(s);
            double[] st = new double[stageNanos.length];
            for (int k = 0; k < st.length; k++) st[k] = seconds(stageNanos[k]);
            stages.add(st);
          }
          progress.step(String.format(Locale.ROOT, "%s %.2f s", timed ? "run" : "warm-up", s));
        }
      }
      Report r = new Report(arch, precision, torch.get_num_threads(), res, buildS, times, stages,
          Rss.peak(), rssAfterBuild, Rss.current());
      if (json) {
        out.println(r.toJson());
      } else {
        r.print(out);
      }
      out.flush();
    }
    return 0;
  }

  /**
   * fp32 against the reduced precision of this device (bf16 on CPU, fp16 on CUDA): both random-weight pipelines built
   * once, then {@code warmup} untimed images each and {@code runs} timed images each, alternated (fp32, reduced,
   * fp32, ...) so a drift of the machine's speed hits both alike.
   */
  private int comparePrecisions(MarigoldArchitecture arch, String device, int res, PrintWriter err, PrintWriter out) {
    if (checkpoint != null) {
      throw new IllegalArgumentException("--compare-precisions uses random weights: drop --checkpoint");
    }
    Precision reduced = Precision.half(marigold4j.torch.Engine.device(device));
    Precision[] both = {Precision.FP32, reduced};
    err.printf("Building the %s Marigold architecture twice (%s and %s on %s, %d threads)%n",
        arch == MarigoldArchitecture.FULL_SIZE ? "full-size" : arch.cliName(), both[0].label(), both[1].label(),
        device, torch.get_num_threads());
    err.flush();
    List<List<Double>> times = List.of(new ArrayList<>(), new ArrayList<>());
    try (MarigoldPipeline full = MarigoldPipeline.random(arch, both[0], device, seed);
        MarigoldPipeline half = MarigoldPipeline.random(arch, both[1], device, seed);
        PointerScope imageScope = new PointerScope();
        Progress progress = Progress.start("Comparing " + both[0].label() + " and " + both[1].label(),
            2 * (warmup + runs), err)) {
      MarigoldPipeline[] pipes = {full, half};
      Tensor rgb = randomImage(seed);
      for (int i = 0; i < warmup + runs; i++) {
        for (int k = 0; k < 2; k++) {
          long start = System.nanoTime();
          try (PointerScope scope = new PointerScope()) {
            pipes[k].predict(rgb, pipes[k].defaults(Modality.DEPTH).withProcessingRes(res), null);
          }
          double sec = seconds(System.nanoTime() - start);
          if (i >= warmup) times.get(k).add(sec);
          progress.step(String.format(Locale.ROOT, "%s %s %.2f s", both[k].label(), i >= warmup ? "run" : "warm-up",
              sec));
        }
      }
    }
    double fullS = median(times.get(0));
    double halfS = median(times.get(1));
    double ratio = halfS / fullS;
    HostInfo host = HostInfo.current();
    if (json) {
      ObjectNode o = new ObjectMapper().createObjectNode();
      o.putArray("compare").add(both[0].label()).add(both[1].label());
      o.put(both[0].label() + "_median_s", round(fullS));
      o.put(both[1].label() + "_median_s", round(halfS));
      o.put("ratio", round(ratio));
      o.put("width", width);
      o.put("height", height);
      o.put("runs", runs);
      o.put("device", device);
      o.put("cpu", host.model());
      ArrayNode features = o.putArray("cpu_features");
      host.features().forEach(features::add);
      out.println(o);
    } else {
      out.printf(Locale.ROOT, "%s: %.2f s/image, %s: %.2f s/image (median of %d, alternated) on %s%n",
          both[0].label(), fullS, both[1].label(), halfS, runs, host.describe());
      out.printf(Locale.ROOT, "%s takes %.2fx the time of %s here: %s%n", both[1].label(), ratio, both[0].label(),
          ratio < 0.95 ? "--precision " + (reduced == Precision.BF16 ? "bf16" : "fp16") + " (or auto) is faster"
              : "stay on fp32 (the default)");
    }
    out.flush();
    return 0;
  }

  /** A random photo-sized image: the network does the same work whatever the pixels are. */
  private Tensor randomImage(long seed) {
    byte[] px = new byte[3 * width * height];
    new Random(seed).nextBytes(px);
    return Tensors.fromBytes(px, 3, height, width);
  }

  private static double seconds(long nanos) {
    return nanos / 1e9;
  }

  static double median(List<Double> xs) {
    double[] s = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    int n = s.length;
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  }

  /** OpenBLAS's spin time after a call (2^N cycles), read once at its start; the launcher sets it. */
  private static final String BLAS_SPIN = "OPENBLAS_THREAD_TIMEOUT";

  /** The measured figures, printed as text or as one JSON line. */
  private final class Report {
    final MarigoldArchitecture arch;
    final Precision precision;
    final int threadCount;
    final int res;
    final double buildS;
    final List<Double> times;
    final List<double[]> stages;
    final long peakRss;
    final long rssAfterBuild;
    final long rssAtEnd;
    final HostInfo host = HostInfo.current();
    final NativeAllocator allocator = NativeAllocator.current();
    final String blasSpin = System.getenv(BLAS_SPIN);

    Report(MarigoldArchitecture arch, Precision precision, int threadCount, int res, double buildS,
        List<Double> times, List<double[]> stages, long peakRss, long rssAfterBuild, long rssAtEnd) {
      this.arch = arch;
      this.precision = precision;
      this.threadCount = threadCount;
      this.res = res;
      this.buildS = buildS;
      this.times = times;
      this.stages = stages;
      this.peakRss = peakRss;
      this.rssAfterBuild = rssAfterBuild;
      this.rssAtEnd = rssAtEnd;
    }

    double stageMedian(StageTimer.Stage stage) {
      List<Double> xs = new ArrayList<>();
      for (double[] s : stages) xs.add(s[stage.ordinal()]);
      return median(xs);
    }

    String toJson() {
      ObjectMapper m = new ObjectMapper();
      ObjectNode o = m.createObjectNode();
      o.put("median_s", round(median(times)));
      o.put("min_s", round(times.stream().mapToDouble(Double::doubleValue).min().orElseThrow()));
      o.put("max_s", round(times.stream().mapToDouble(Double::doubleValue).max().orElseThrow()));
      o.put("mean_s", round(times.stream().mapToDouble(Double::doubleValue).average().orElseThrow()));
      o.put("vae_encode_s", round(stageMedian(StageTimer.Stage.VAE_ENCODE)));
      o.put("unet_s", round(stageMedian(StageTimer.Stage.UNET)));
      o.put("vae_decode_s", round(stageMedian(StageTimer.Stage.VAE_DECODE)));
      putMb(o, "peak_rss_mb", peakRss);
      putMb(o, "rss_after_build_mb", rssAfterBuild);
      putMb(o, "rss_at_end_mb", rssAtEnd);
      o.put(checkpoint == null ? "build_s" : "load_s", round(buildS));
      ArrayNode all = o.putArray("times_s");
      times.forEach(t -> all.add(round(t)));
      o.put("runs", times.size());
      o.put("warmup", warmup);
      o.put("width", width);
      o.put("height", height);
      o.put("processing_res", res);
      o.put("precision", precision.label());
      o.put("threads", threadCount);
      o.put("device", runtime.device);
      o.put("cpu", host.model());
      ArrayNode features = o.putArray("cpu_features");
      host.features().forEach(features::add);
      o.put("logical_cpus", host.logicalCpus());
      o.put("allocator", allocator.label());
      o.put("openblas_thread_timeout", blasSpin);
      if (checkpoint == null) {
        o.put("config", arch.cliName());
      } else {
        o.put("checkpoint", checkpoint);
      }
      try {
        return m.writeValueAsString(o);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }

    void print(PrintWriter out) {
      out.printf(Locale.ROOT, "marigold4j bench: %s, %dx%d (processing_res %d), %s, %d threads, %s%n",
          checkpoint == null ? arch.cliName() + " architecture" : checkpoint, width, height, res, precision.label(),
          threadCount, runtime.device);
      out.printf(Locale.ROOT, "  seconds/image: median %.3f  min %.3f  max %.3f  (%d runs after %d warm-up)%n",
          median(times), times.stream().mapToDouble(Double::doubleValue).min().orElseThrow(),
          times.stream().mapToDouble(Double::doubleValue).max().orElseThrow(), times.size(), warmup);
      out.printf(Locale.ROOT, "  stages (median s): VAE encode %.3f  UNet %.3f  VAE decode %.3f%n",
          stageMedian(StageTimer.Stage.VAE_ENCODE), stageMedian(StageTimer.Stage.UNET),
          stageMedian(StageTimer.Stage.VAE_DECODE));
      out.printf(Locale.ROOT, "  peak RSS: %s (after %s %s, at end %s); %s %.1f s%n", mb(peakRss),
          checkpoint == null ? "build" : "load", mb(rssAfterBuild), mb(rssAtEnd),
          checkpoint == null ? "build" : "load", buildS);
      out.printf(Locale.ROOT, "  host: %s; malloc: %s; %s=%s%n", host.describe(), allocator.label(), BLAS_SPIN,
          blasSpin == null ? "unset" : blasSpin);
      if (!runtime.device.startsWith("cpu")) return;
      if (allocator == NativeAllocator.SYSTEM) {
        out.println("  note: the system malloc re-faults every large tensor; with tcmalloc installed "
            + "(e.g. apt-get install libtcmalloc-minimal4) the ./marigold4j launcher preloads it: about 25% faster "
            + "on CPU (docs/performance.md)");
      }
      if (blasSpin == null) {
        out.println("  note: OpenBLAS workers spin for 2^28 cycles after each call, on the cores PyTorch needs next; "
            + "the ./marigold4j launcher sets " + BLAS_SPIN + "=4 (fp32 UNet about a quarter faster)");
      }
    }
  }

  private static double round(double s) {
    return Math.round(s * 1e4) / 1e4;
  }

  private static void putMb(ObjectNode o, String key, long bytes) {
    if (bytes < 0) {
      o.putNull(key);
    } else {
      o.put(key, Math.round(bytes / 1048576.0 * 10) / 10.0);
    }
  }

  private static String mb(long bytes) {
    return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.0f MB", bytes / 1048576.0);
  }

  /** Resident memory from /proc/self/status (Linux); -1 where it is not available. */
  static final class Rss {
    private Rss() {}

    /** The high-water mark of resident memory (VmHWM). */
    static long peak() {
      return field("VmHWM:");
    }

    /** Resident memory now (VmRSS). */
    static long current() {
      return field("VmRSS:");
    }

    private static long field(String name) {
      try {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
          if (line.startsWith(name)) {
            String[] parts = line.substring(name.length()).trim().split("\\s+");   // "123456 kB"
            return Long.parseLong(parts[0]) * 1024;
          }
        }
      } catch (IOException | RuntimeException e) {
        return -1;
      }
      return -1;
    }
  }
}
