package marigold4j.estimator;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import marigold4j.models.vae.AutoencoderKLConfig;

/**
 * What one prediction costs, estimated before it runs, so a server can refuse a request that would take the machine
 * (a 4800 x 4800 upload at processing resolution 2048 on the tiny model once took 62 s and 5.1 GB).
 *
 * <ul>
 *   <li><b>Memory</b>: the activations grow with the processing size; the peak is the VAE decoder at full
 *       resolution, about {@value #BYTES_PER_CHANNEL_PIXEL} live values per channel of its widest full-resolution
 *       block per pixel (measured on the full-size SD2 VAE: 6.4-6.8 GB peak RSS at 768 x 576 in fp32, of which 3.9 GB
 *       weights, i.e. 6.1 KB per processing pixel = 12 x 128 channels x 4 bytes; bf16 halves it), times the members
 *       decoded at once.</li>
 *   <li><b>Work</b>: processing megapixels x ensemble members x (denoising steps + 2), the 2 standing for the VAE
 *       encode and decode; the paper's most expensive setting (768 x 768, ensemble 10, 50 steps) is 306.</li>
 * </ul>
 */
public final class WorkBudget {
  /** Live values per pixel and decoder channel at the decoder's peak (see the class comment). */
  public static final int BYTES_PER_CHANNEL_PIXEL = 12;
  /** The default work budget of one server request (megapixel-steps). */
  public static final double DEFAULT_MAX_WORK = 400;
  private static final int SD2_DECODER_CHANNELS = 128;
  /** Bytes per processing pixel of the full-size SD2 VAE in fp32: the estimate where a model's VAE is unknown. */
  public static final long SD2_FP32_BYTES_PER_PIXEL = (long) BYTES_PER_CHANNEL_PIXEL * SD2_DECODER_CHANNELS * 4;

  private WorkBudget() {}

  /** Half the machine's physical memory: what one request may take for its activations by default. */
  public static long defaultRequestBytes() {
    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    long total = os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getTotalMemorySize() : 0;
    return total > 0 ? total / 2 : 8L << 30;
  }

  /** Activation bytes per processing pixel of one member for the estimator's VAE and precision. */
  public static long bytesPerProcessingPixel(Estimator e) {
    int channels = SD2_DECODER_CHANNELS;
    Path checkpoint = e.checkpoint();
    if (checkpoint != null) {
      Path vae = checkpoint.resolve("vae").resolve("config.json");
      if (Files.isRegularFile(vae)) {
        AutoencoderKLConfig c = AutoencoderKLConfig.read(vae);
        channels = c.blockOutChannels().stream().mapToInt(Integer::intValue).max().orElse(SD2_DECODER_CHANNELS);
      }
    }
    long dtypeBytes = e.precision().isFull() ? 4 : 2;
    return (long) BYTES_PER_CHANNEL_PIXEL * channels * dtypeBytes;
  }

  /** Pixels the model runs at: the input's with {@code processingRes} 0, else the long edge scaled to it. */
  public static long processingPixels(int width, int height, int processingRes) {
    if (processingRes <= 0) return (long) width * height;
    int max = Math.max(width, height);
    long w = Math.max(1, (long) width * processingRes / max);
    long h = Math.max(1, (long) height * processingRes / max);
    return w * h;
  }

  /** Peak activation bytes of one call: processing pixels x bytes per pixel x members decoded at once. */
  public static long memory(long processingPixels, long bytesPerPixel, int batch) {
    return processingPixels * bytesPerPixel * Math.max(1, batch);
  }

  /** Work of one call: processing megapixels x ensemble members x (steps + 2). */
  public static double work(long processingPixels, int ensembleSize, int denoisingSteps) {
    return processingPixels / 1e6 * Math.max(1, ensembleSize) * (Math.max(1, denoisingSteps) + 2);
  }
}
