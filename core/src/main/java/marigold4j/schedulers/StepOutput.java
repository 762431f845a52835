package marigold4j.schedulers;

import org.bytedeco.pytorch.Tensor;

/**
 * What one denoising step returns (diffusers' {@code DDIMSchedulerOutput} / {@code DDPMSchedulerOutput}).
 *
 * @param prevSample the sample at the previous timestep, x_{t-1}: the next model input
 * @param predOriginalSample the model's estimate of x_0 at this step (Marigold returns it after the last step)
 */
public record StepOutput(Tensor prevSample, Tensor predOriginalSample) {}
