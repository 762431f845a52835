package marigold4j.spark;

import java.io.Serializable;
import java.util.Locale;
import marigold4j.pipeline.Precision;

/**
 * What one loaded model is: the checkpoint and everything that changes the loaded weights or where they run. Two
 * tasks with equal keys share one model per executor JVM ({@link ExecutorModels}).
 *
 * @param checkpoint a Hugging Face id {@code org/name[@revision]}, a local folder, or a Hadoop path
 *     ({@code hdfs://}, {@code s3a://}, ...) copied once per executor
 * @param modality the map a single-map checkpoint predicts ({@code depth} or {@code normals}); null = detected
 * @param precision fp32, bf16 or fp16
 * @param device cpu, cuda or cuda:N
 * @param threads engine threads per executor; 0 = every core of the executor's machine
 * @param variant weight variant (e.g. fp16), null = none
 * @param offline take Hub models from the cache only
 * @param cacheDir Hub cache folder, null = the environment's
 * @param endpoint Hub address, null = the environment's
 * @param concurrency models (and so predictions at once) per executor for this key
 */
public record ModelKey(String checkpoint, String modality, String precision, String device, int threads,
    String variant, boolean offline, String cacheDir, String endpoint, int concurrency) implements Serializable {
  public ModelKey {
    if (checkpoint == null || checkpoint.isBlank()) throw new IllegalArgumentException("--checkpoint is required");
    precision = precision == null ? "fp32" : precision.toLowerCase(Locale.ROOT);
    parsePrecision(precision);
    device = device == null ? "cpu" : device;
    if (threads < 0) throw new IllegalArgumentException("--threads must be 0 (all cores) or more, got " + threads);
    if (concurrency < 1) {
      throw new IllegalArgumentException("--concurrency must be 1 or more, got " + concurrency);
    }
  }

  /** The engine precision of {@code --precision}. */
  public Precision precisionValue() {
    return parsePrecision(precision);
  }

  static Precision parsePrecision(String p) {
    return switch (p) {
      case "fp32" -> Precision.FP32;
      case "bf16" -> Precision.BF16;
      case "fp16" -> Precision.FP16;
      default -> throw new IllegalArgumentException("--precision must be fp32, bf16 or fp16, got '" + p + "'");
    };
  }
}
