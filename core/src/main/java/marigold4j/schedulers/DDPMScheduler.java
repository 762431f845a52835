package marigold4j.schedulers;

import java.nio.file.Path;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;
import marigold4j.schedulers.SchedulerConfig.VarianceType;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * Ancestral DDPM sampling and the training noise schedule, as diffusers 0.30.2's {@code DDPMScheduler} computes them
 * (arXiv:2006.11239). E2E-FT's training loads this class for {@code alphas_cumprod}, {@code add_noise} and
 * {@code get_velocity}; {@link #step} supports the fixed variance types ({@code fixed_small}, Stable Diffusion's
 * choice, {@code fixed_small_log}, {@code fixed_large}).
 */
public final class DDPMScheduler extends ScheduleBase implements Scheduler {
  public DDPMScheduler(SchedulerConfig config) {
    super(supported(config));
  }

  private static SchedulerConfig supported(SchedulerConfig config) {
    VarianceType v = config.varianceType();
    if (v == VarianceType.FIXED_LARGE_LOG || v == VarianceType.LEARNED || v == VarianceType.LEARNED_RANGE) {
      // learned variances need a model predicting 2x channels; fixed_large_log yields sqrt(log(beta)) = NaN upstream
      throw SchedulerConfig.invalid(config.source(), "variance_type", "'" + v.jsonName() + "' is not supported by "
          + "DDPMScheduler here (fixed_small, fixed_small_log, fixed_large)");
    }
    return config;
  }

  /**
   * Loads {@code scheduler_config.json} from a {@code scheduler/} folder; like diffusers' {@code from_pretrained}, a
   * config of another scheduler class (e.g. DDIMScheduler) is accepted and its DDPM-irrelevant keys ignored.
   */
  public static DDPMScheduler load(Path schedulerDir) {
    return new DDPMScheduler(Schedulers.readConfig(schedulerDir, "DDPMScheduler"));
  }

  @Override
  public DDPMScheduler withTimestepSpacing(TimestepSpacing spacing) {
    return new DDPMScheduler(config.withTimestepSpacing(spacing));
  }

  /** t - num_train_timesteps // num_inference_steps (a decrement of 1 before {@link #setTimesteps(int)}). */
  public long previousTimestep(long timestep) {
    int n = numInferenceSteps > 0 ? numInferenceSteps : config.numTrainTimesteps();
    return timestep - config.numTrainTimesteps() / n;
  }

  /** A step whose noise (for t > 0) is drawn with {@code torch.randn} from the global generator, as diffusers does. */
  @Override
  public StepOutput step(Tensor modelOutput, long timestep, Tensor sample) {
    // randn(shape, dtype, device) as diffusers' randn_tensor: contiguous, from the device's default generator
    Tensor noise = timestep > 0
        ? F.randn(Tensors.shape(modelOutput), Tensors.dtype(modelOutput), modelOutput.device())
        : null;
    return step(modelOutput, timestep, sample, noise);
  }

  /**
   * A step with the given standard-normal {@code varianceNoise} (shape of {@code modelOutput}; ignored, and may be
   * null, at timestep 0).
   */
  public StepOutput step(Tensor modelOutput, long timestep, Tensor sample, Tensor varianceNoise) {
    long prev = previousTimestep(timestep);
    // float32 scalar arithmetic in the original's order (its 0-dim float32 tensors)
    float alphaProdT = alphasCumprod[checkTimestep(timestep)];
    float alphaProdTPrev = prev >= 0 ? alphasCumprod[(int) prev] : 1f;
    float betaProdT = 1f - alphaProdT;
    float betaProdTPrev = 1f - alphaProdTPrev;
    float currentAlphaT = alphaProdT / alphaProdTPrev;
    float currentBetaT = 1f - currentAlphaT;
    float sqrtAlpha = (float) Math.sqrt(alphaProdT);
    float sqrtBeta = (float) Math.sqrt(betaProdT);

    Tensor predOriginal = switch (config.predictionType()) {
      case EPSILON -> sample.sub(modelOutput.mul(F.s(sqrtBeta))).div(F.s(sqrtAlpha));
      case SAMPLE -> modelOutput;
      case V_PREDICTION -> sample.mul(F.s(sqrtAlpha)).sub(modelOutput.mul(F.s(sqrtBeta)));
    };
    if (config.clipSample()) {
      predOriginal = F.clamp(predOriginal, -config.clipSampleRange(), config.clipSampleRange());
    }
    // eq. (7) of the DDPM paper: the posterior mean's coefficients of x0 and x_t
    float originalCoeff = ((float) Math.sqrt(alphaProdTPrev) * currentBetaT) / betaProdT;
    float sampleCoeff = ((float) Math.sqrt(currentAlphaT) * betaProdTPrev) / betaProdT;
    Tensor prevSample = predOriginal.mul(F.s(originalCoeff)).add(sample.mul(F.s(sampleCoeff)));

    if (timestep > 0) {
      if (varianceNoise == null) throw new IllegalArgumentException("DDPM step at t=" + timestep + " needs noise");
      prevSample = prevSample.add(varianceNoise.mul(F.s(standardDeviation(alphaProdT, alphaProdTPrev, currentBetaT))));
    }
    return new StepOutput(prevSample, predOriginal);
  }

  /** The noise scale of a step (diffusers' {@code _get_variance}, then the square root where the original takes it). */
  private float standardDeviation(float alphaProdT, float alphaProdTPrev, float currentBetaT) {
    float variance = Math.max(((1f - alphaProdTPrev) / (1f - alphaProdT)) * currentBetaT, 1e-20f);
    return switch (config.varianceType()) {
      case FIXED_SMALL -> (float) Math.sqrt(variance);
      // float64 log/exp rounded to float32: may differ from torch's float32 kernels in the last bit
      case FIXED_SMALL_LOG -> (float) Math.exp(0.5f * (float) Math.log(variance));
      case FIXED_LARGE -> (float) Math.sqrt(currentBetaT);
      default -> throw new IllegalStateException(config.varianceType().toString());
    };
  }

  @Override
  public String toString() {
    return "DDPMScheduler(" + config.betaSchedule().jsonName() + ", " + config.predictionType().jsonName() + ", "
        + config.varianceType().jsonName() + ")";
  }
}
