package marigold4j.cli;

import marigold4j.pipeline.Precision;
import marigold4j.torch.Engine;
import picocli.CommandLine.Option;

/** Where and how the models run: the options shared by the commands that load a checkpoint (a picocli mixin). */
final class RuntimeOptions {
  @Option(names = {"--half-precision", "--half_precision"},
      description = "Run in reduced precision: bfloat16 on CPU (attention kept in float32), float16 on CUDA.")
  boolean halfPrecision;

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
  }

  /** Sets the engine's thread count and returns the precision the models load in. */
  Precision start() {
    validate();
    Engine.setThreads(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
    return halfPrecision ? Precision.half(Engine.device(device)) : Precision.FP32;
  }
}
