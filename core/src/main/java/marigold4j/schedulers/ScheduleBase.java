package marigold4j.schedulers;

import org.bytedeco.pytorch.Tensor;

/**
 * What {@link DDIMScheduler} and {@link DDPMScheduler} share (diffusers repeats it in each class): the configuration,
 * the float32 {@code betas} / {@code alphas_cumprod} of {@link NoiseSchedule}, the inference timesteps, and the
 * forward process ({@code add_noise}, {@code get_velocity}). Subclasses add their reverse step.
 */
abstract sealed class ScheduleBase permits DDIMScheduler, DDPMScheduler, LCMScheduler {
  final SchedulerConfig config;
  final float[] betas;
  final float[] alphasCumprod;
  int numInferenceSteps;
  private long[] timesteps = new long[0];

  ScheduleBase(SchedulerConfig config) {
    this.config = config;
    this.betas = NoiseSchedule.betas(config);
    this.alphasCumprod = NoiseSchedule.alphasCumprod(betas);
  }

  /** The configuration this scheduler was made from. */
  public SchedulerConfig config() {
    return config;
  }

  /** {@code betas} (float32, {@code [num_train_timesteps]}, CPU). */
  public Tensor betas() {
    return NoiseSchedule.tensor(betas);
  }

  /** {@code alphas_cumprod} (float32, {@code [num_train_timesteps]}, CPU). */
  public Tensor alphasCumprod() {
    return NoiseSchedule.tensor(alphasCumprod);
  }

  /** alphas_cumprod[t] as the float32 value the original computes. */
  public float alphaCumprod(long timestep) {
    return alphasCumprod[checkTimestep(timestep)];
  }

  /** Chooses the inference timesteps (diffusers' {@code set_timesteps(n)}). */
  public void setTimesteps(int numInferenceSteps) {
    this.timesteps = inferenceTimesteps(numInferenceSteps);
    this.numInferenceSteps = numInferenceSteps;
  }

  /** The timesteps {@code set_timesteps(n)} picks: the configured spacing ({@link NoiseSchedule#timesteps}). */
  long[] inferenceTimesteps(int numInferenceSteps) {
    return NoiseSchedule.timesteps(config, numInferenceSteps);
  }

  /** The inference timesteps in denoising order (a copy); empty before {@link #setTimesteps(int)}. */
  public long[] timesteps() {
    return timesteps.clone();
  }

  /** sqrt(alphas_cumprod[t]) x0 + sqrt(1 - alphas_cumprod[t]) noise, one timestep per batch element. */
  public Tensor addNoise(Tensor originalSamples, Tensor noise, Tensor timesteps) {
    return NoiseSchedule.addNoise(alphasCumprod, originalSamples, noise, timesteps);
  }

  /** The v-prediction target: sqrt(alphas_cumprod[t]) noise - sqrt(1 - alphas_cumprod[t]) sample. */
  public Tensor getVelocity(Tensor sample, Tensor noise, Tensor timesteps) {
    return NoiseSchedule.velocity(alphasCumprod, sample, noise, timesteps);
  }

  /** {@code t} as an index into {@code alphas_cumprod}, or an error naming the valid range. */
  final int checkTimestep(long t) {
    if (t < 0 || t >= alphasCumprod.length) {
      throw new IllegalArgumentException("timestep " + t + " outside [0, " + alphasCumprod.length + ")");
    }
    return (int) t;
  }
}
