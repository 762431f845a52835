package marigold4j.pipeline;

/**
 * Receives how long each stage of a pipeline call took (wall clock, {@link System#nanoTime()}), for benchmarks and
 * profiling. On the CPU the engine's ops are synchronous, so the times are the stages' own; on CUDA they measure
 * only the time to queue the kernels unless the device is synchronised.
 */
@FunctionalInterface
public interface StageTimer {
  /** The timed stages of one Marigold call. */
  enum Stage {
    /** VAE encoder and quant_conv of the RGB image (per batch of ensemble members). */
    VAE_ENCODE,
    /** Every denoising step: UNet forward and scheduler step (per batch). */
    UNET,
    /** post_quant_conv and VAE decoder of the prediction latent (per batch). */
    VAE_DECODE
  }

  /** Called once per stage and batch, on the thread running the pipeline. */
  void record(Stage stage, long nanos);
}
