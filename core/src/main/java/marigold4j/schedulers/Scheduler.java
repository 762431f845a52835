package marigold4j.schedulers;

import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;
import org.bytedeco.pytorch.Tensor;

/**
 * A diffusion noise scheduler: the training noise schedule and the reverse (denoising) step. Implementations hold
 * only Java arrays, so they may be created anywhere (also inside a {@code PointerScope}); every tensor they return is
 * new. {@link #setTimesteps(int)} changes the state: use one instance per denoising loop.
 */
public sealed interface Scheduler permits DDIMScheduler, DDPMScheduler, LCMScheduler {

  SchedulerConfig config();

  /** A scheduler of the same class with the same configuration except the timestep spacing. */
  Scheduler withTimestepSpacing(TimestepSpacing spacing);

  /** {@code betas} (float32, {@code [num_train_timesteps]}, CPU). */
  Tensor betas();

  /** {@code alphas_cumprod} (float32, {@code [num_train_timesteps]}, CPU). */
  Tensor alphasCumprod();

  /** alphas_cumprod[t] as the float32 value the original computes. */
  float alphaCumprod(long timestep);

  /** Chooses the inference timesteps (diffusers' {@code set_timesteps(n)}). */
  void setTimesteps(int numInferenceSteps);

  /** The inference timesteps in denoising order (a copy); empty before {@link #setTimesteps(int)}. */
  long[] timesteps();

  /**
   * One reverse step from {@code sample} at {@code timestep} given the model's output. The result has the dtype and
   * device of {@code sample}.
   */
  StepOutput step(Tensor modelOutput, long timestep, Tensor sample);

  /**
   * {@link #step(Tensor, long, Tensor)} as diffusers' {@code step(..., generator=)}: a scheduler that injects fresh
   * noise ({@link LCMScheduler}) draws it from {@code noise}; deterministic ones ignore it.
   */
  default StepOutput step(Tensor modelOutput, long timestep, Tensor sample, StepNoise noise) {
    return step(modelOutput, timestep, sample);
  }

  /** Where a step's fresh noise comes from: {@code randn_tensor(shape, generator)} (float32, CPU). */
  @FunctionalInterface
  interface StepNoise {
    Tensor randn(long[] shape);
  }

  /**
   * The forward process: sqrt(alphas_cumprod[t]) x0 + sqrt(1 - alphas_cumprod[t]) noise, with one timestep per batch
   * element ({@code timesteps}: int64, {@code [B]}), computed in the dtype of {@code originalSamples}.
   */
  Tensor addNoise(Tensor originalSamples, Tensor noise, Tensor timesteps);

  /** The v-prediction target: sqrt(alphas_cumprod[t]) noise - sqrt(1 - alphas_cumprod[t]) sample. */
  Tensor getVelocity(Tensor sample, Tensor noise, Tensor timesteps);
}
