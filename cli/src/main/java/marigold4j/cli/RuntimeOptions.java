package marigold4j.cli;

import java.io.PrintWriter;
import java.util.Locale;
import marigold4j.pipeline.Precision;
import marigold4j.torch.Engine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Where and how the models run: the options shared by the commands that load a checkpoint (a picocli mixin). */
final class RuntimeOptions {
  @Spec(Spec.Target.MIXEE) CommandSpec mixee;

  @Option(names = {"--half-precision", "--half_precision"},
      description = "Run in reduced precision: bfloat16 on CPU (attention kept in float32), float16 on CUDA. "
          + "The same as --precision bf16 on CPU, fp16 on CUDA.")
  boolean halfPrecision;

  @Option(names = "--precision", paramLabel = "fp32|bf16|fp16|auto",
      description = "Numeric precision of the models. auto: bf16 on CPUs with native bf16 (AVX-512 BF16 or AMX), "
          + "fp32 on other CPUs, fp16 on CUDA. bf16 on a CPU without native bf16 is emulated and several times "
          + "slower than fp32 (a warning says so). Default: fp32 (the original's outputs), or what "
          + "--half-precision asks for.")
  String precision;

  @Option(names = "--variant", paramLabel = "NAME",
      description = "Weight variant to load, e.g. fp16 (falls back to the full-precision files). Default: none.")
  String variant;

  @Option(names = "--device", paramLabel = "cpu|cuda|cuda:N", defaultValue = "cpu",
      description = "Where to run (cuda needs the -Pgpu build). Default: ${DEFAULT-VALUE}.")
  String device;

  @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
      description = "CPU threads for the engine; 0 = all cores. Default: ${DEFAULT-VALUE}.")
  int threads;

  /** Rejects values that cannot work; commands call it before anything slow (a download, a model load) starts. */
  void validate() {
    if (threads < 0) throw new IllegalArgumentException("--threads must be 0 (all cores) or more, got " + threads);
    if (precision != null) {
      String p = precision.toLowerCase(Locale.ROOT);
      if (!p.equals("fp32") && !p.equals("bf16") && !p.equals("fp16") && !p.equals("auto")) {
        throw new IllegalArgumentException("--precision must be fp32, bf16, fp16 or auto, got '" + precision + "'");
      }
      if (halfPrecision) {
        throw new IllegalArgumentException("give either --half-precision or --precision, not both");
      }
    }
  }

  /** Sets the engine's thread count and returns the precision the models load in (warning where it is slow). */
  Precision start() {
    validate();
    Engine.setThreads(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
    boolean cuda = Engine.device(device).is_cuda();
    Choice c = choose(precision, halfPrecision, cuda, HostInfo.current());
    if (c.warning() != null && mixee != null) {
      PrintWriter err = mixee.commandLine().getErr();
      err.println("warning: " + c.warning());
      err.flush();
    }
    return c.precision();
  }

  /** A precision and, where it will be slow on this machine, why and what to do instead. */
  record Choice(Precision precision, String warning) {}

  /**
   * The precision for {@code --precision} / {@code --half-precision} on this device and CPU.
   *
   * @param requested fp32, bf16, fp16, auto or null (then {@code half} decides: bf16 on CPU, fp16 on CUDA)
   */
  static Choice choose(String requested, boolean half, boolean cuda, HostInfo host) {
    String r = requested == null ? (half ? "half" : "fp32") : requested.toLowerCase(Locale.ROOT);
    Precision p = switch (r) {
      case "fp32" -> Precision.FP32;
      case "bf16" -> Precision.BF16;
      case "fp16" -> Precision.FP16;
      case "half" -> cuda ? Precision.FP16 : Precision.BF16;
      case "auto" -> cuda ? Precision.FP16 : nativeBf16(host) ? Precision.BF16 : Precision.FP32;
      default -> throw new IllegalArgumentException("--precision must be fp32, bf16, fp16 or auto, got '"
          + requested + "'");
    };
    String warning = null;
    if (!cuda && p == Precision.BF16 && !nativeBf16(host)) {
      warning = "this CPU (" + host.model() + ") has no native bfloat16 (AVX-512 BF16 or AMX): bf16 runs emulated, "
          + "several times slower than fp32 (measured on an AVX2-only EPYC: a 768 px image did not finish in 20 "
          + "minutes, fp32 took 2); drop --half-precision, or use --precision auto";
    } else if (!cuda && p == Precision.FP16) {
      warning = "float16 has no fast kernels on CPUs: expect it to be much slower than fp32; use --precision auto";
    }
    return new Choice(p, warning);
  }

  /** Whether the CPU computes bfloat16 natively (AVX-512 BF16 dot products or AMX tiles). */
  static boolean nativeBf16(HostInfo host) {
    return host.features().contains("avx512_bf16") || host.features().contains("amx_bf16");
  }
}
