package marigold4j.schedulers;

import java.nio.file.Path;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;
import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;

/**
 * Deterministic DDIM sampling (eta = 0), as diffusers 0.30.2's {@code DDIMScheduler} computes it (arXiv:2010.02502,
 * eq. 12). The per-step coefficients are float32 scalars derived exactly as the original derives them from its float32
 * {@code alphas_cumprod}, so a step reproduces the original bit for bit up to the order of float32 operations.
 *
 * <pre>{@code
 * DDIMScheduler s = DDIMScheduler.load(checkpoint.resolve("scheduler"));
 * s.setTimesteps(4);                                  // trailing: [999, 749, 499, 249]
 * for (long t : s.timesteps()) { StepOutput o = s.step(unet(latent, t), t, latent); latent = o.prevSample(); }
 * }</pre>
 */
public final class DDIMScheduler extends ScheduleBase implements Scheduler {
  private final float finalAlphaCumprod;

  public DDIMScheduler(SchedulerConfig config) {
    super(config);
    // the step after timestep 0 has no alphas_cumprod entry: 1, or (Stable Diffusion) the one of timestep 0
    this.finalAlphaCumprod = config.setAlphaToOne() ? 1f : alphasCumprod[0];
  }

  /**
   * Loads {@code scheduler_config.json} from a pipeline's {@code scheduler/} folder. Like diffusers'
   * {@code DDIMScheduler.from_pretrained}, this accepts the config of another scheduler class (E2E-FT's training
   * saves a {@code DDPMScheduler} config that inference reads as DDIM); keys DDIM does not use are ignored.
   */
  public static DDIMScheduler load(Path schedulerDir) {
    return new DDIMScheduler(Schedulers.readConfig(schedulerDir, "DDIMScheduler"));
  }

  @Override
  public DDIMScheduler withTimestepSpacing(TimestepSpacing spacing) {
    return new DDIMScheduler(config.withTimestepSpacing(spacing));
  }

  /** alphas_cumprod used when the previous timestep is negative. */
  public float finalAlphaCumprod() {
    return finalAlphaCumprod;
  }

  /** The timestep the step from {@code timestep} lands on: t - num_train_timesteps // num_inference_steps. */
  public long previousTimestep(long timestep) {
    requireTimesteps();
    return timestep - config.numTrainTimesteps() / numInferenceSteps;
  }

  @Override
  public StepOutput step(Tensor modelOutput, long timestep, Tensor sample) {
    long prev = previousTimestep(timestep);
    float alphaProdT = alphasCumprod[checkTimestep(timestep)];
    float alphaProdTPrev = prev >= 0 ? alphasCumprod[(int) prev] : finalAlphaCumprod;
    float betaProdT = 1f - alphaProdT;
    // diffusers raises these float32 0-dim tensors to the power 0.5, which torch evaluates as a correctly rounded sqrt
    float sqrtAlpha = (float) Math.sqrt(alphaProdT);
    float sqrtBeta = (float) Math.sqrt(betaProdT);

    Tensor predOriginal;
    Tensor predEpsilon;
    switch (config.predictionType()) {
      case EPSILON -> {
        predOriginal = sample.sub(modelOutput.mul(F.s(sqrtBeta))).div(F.s(sqrtAlpha));
        predEpsilon = modelOutput;
      }
      case SAMPLE -> {
        predOriginal = modelOutput;
        predEpsilon = sample.sub(predOriginal.mul(F.s(sqrtAlpha))).div(F.s(sqrtBeta));
      }
      case V_PREDICTION -> {
        predOriginal = sample.mul(F.s(sqrtAlpha)).sub(modelOutput.mul(F.s(sqrtBeta)));
        predEpsilon = modelOutput.mul(F.s(sqrtAlpha)).add(sample.mul(F.s(sqrtBeta)));
      }
      default -> throw new IllegalStateException(config.predictionType().toString());
    }
    if (config.clipSample()) {
      predOriginal = F.clamp(predOriginal, -config.clipSampleRange(), config.clipSampleRange());
    }
    // eta = 0: sigma_t = 0, so the direction term is sqrt(1 - alpha_prev) * eps and no noise is added
    float directionCoeff = (float) Math.sqrt(1f - alphaProdTPrev);
    Tensor prevSample = predOriginal.mul(F.s((float) Math.sqrt(alphaProdTPrev)))
        .add(predEpsilon.mul(F.s(directionCoeff)));
    return new StepOutput(prevSample, predOriginal);
  }

  private void requireTimesteps() {
    if (numInferenceSteps == 0) throw new IllegalStateException("call setTimesteps(n) before step()");
  }

  @Override
  public String toString() {
    return "DDIMScheduler(" + config.betaSchedule().jsonName() + ", " + config.predictionType().jsonName() + ", "
        + config.timestepSpacing().jsonName() + ", steps=" + numInferenceSteps + ")";
  }
}
