package marigold4j.schedulers;

import java.nio.file.Path;
import marigold4j.checkpoint.ConfigJson;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * Latent Consistency Model sampling (arXiv:2310.04378) as diffusers 0.33.1's {@code LCMScheduler} computes it, the
 * scheduler of {@code prs-eth/marigold-depth-lcm-v1-0}:
 *
 * <ul>
 *   <li>timesteps: of the {@code original_inference_steps} distillation timesteps {@code k, 2k, ... - 1}
 *       ({@code k = num_train_timesteps / original_inference_steps}), taken in reverse at
 *       {@code floor(linspace(0, original, n, endpoint=False))}: 1 step is [999], 4 are [999, 759, 499, 259];
 *       {@code timestep_spacing} and {@code steps_offset} play no part;</li>
 *   <li>step: x0 from the model output, {@code denoised = c_out x0 + c_skip x_t} with the consistency boundary
 *       scalings {@code c_skip = 0.25 / ((s t)^2 + 0.25)}, {@code c_out = s t / sqrt((s t)^2 + 0.25)}
 *       ({@code s = timestep_scaling}); every step but the last re-noises {@code denoised} to the next timestep with
 *       fresh noise, the last returns {@code denoised}.</li>
 * </ul>
 *
 * All coefficients are float32 as the original computes them from its float32 {@code alphas_cumprod}.
 */
public final class LCMScheduler extends ScheduleBase implements Scheduler {
  private static final float SIGMA_DATA_SQ = 0.25f;

  private final int originalInferenceSteps;
  private final double timestepScaling;
  private final float finalAlphaCumprod;

  /**
   * @param originalInferenceSteps {@code original_inference_steps} (the distillation schedule's length, 50)
   * @param timestepScaling {@code timestep_scaling} (10)
   */
  public LCMScheduler(SchedulerConfig config, int originalInferenceSteps, double timestepScaling) {
    super(config);
    if (originalInferenceSteps < 1 || originalInferenceSteps > config.numTrainTimesteps()) {
      throw SchedulerConfig.invalid(config.source(), "original_inference_steps", originalInferenceSteps
          + " must be between 1 and num_train_timesteps " + config.numTrainTimesteps());
    }
    this.originalInferenceSteps = originalInferenceSteps;
    this.timestepScaling = timestepScaling;
    this.finalAlphaCumprod = config.setAlphaToOne() ? 1f : alphasCumprod[0];
  }

  /** Reads {@code scheduler_config.json} with its LCM keys (diffusers' defaults where absent: 50 and 10). */
  public static LCMScheduler load(Path schedulerDir) {
    SchedulerConfig config = Schedulers.readConfig(schedulerDir, "LCMScheduler");
    SchedulerConfig.Json extra = ConfigJson.read(Schedulers.configFile(schedulerDir), SchedulerConfig.Json.class);
    return new LCMScheduler(config,
        extra.originalInferenceSteps() == null ? 50 : extra.originalInferenceSteps(),
        extra.timestepScaling() == null ? 10.0 : extra.timestepScaling());
  }

  public int originalInferenceSteps() {
    return originalInferenceSteps;
  }

  public double timestepScaling() {
    return timestepScaling;
  }

  /** alphas_cumprod past the last timestep (the one of timestep 0 for Stable Diffusion's {@code set_alpha_to_one false}). */
  public float finalAlphaCumprod() {
    return finalAlphaCumprod;
  }

  @Override
  public LCMScheduler withTimestepSpacing(TimestepSpacing spacing) {
    // LCM ignores the spacing: the same schedule
    return new LCMScheduler(config.withTimestepSpacing(spacing), originalInferenceSteps, timestepScaling);
  }

  @Override
  long[] inferenceTimesteps(int n) {
    if (n < 1) throw new IllegalArgumentException("number of inference steps must be 1 or more, got " + n);
    if (n > originalInferenceSteps) {
      throw new IllegalArgumentException(n + " inference steps: LCM takes at most original_inference_steps = "
          + originalInferenceSteps);
    }
    int k = config.numTrainTimesteps() / originalInferenceSteps;
    long[] origin = new long[originalInferenceSteps];              // reversed: (original) k - 1, ..., k - 1
    for (int i = 0; i < originalInferenceSteps; i++) origin[i] = (long) (originalInferenceSteps - i) * k - 1;
    long[] out = new long[n];
    double step = (double) originalInferenceSteps / n;              // np.linspace(0, len, n, endpoint=False)
    for (int i = 0; i < n; i++) out[i] = origin[(int) Math.floor(i * step)];
    return out;
  }

  /** c_skip and c_out of the consistency boundary condition at {@code timestep}, in float32. */
  public float[] boundaryScalings(long timestep) {
    float scaled = (float) timestep * (float) timestepScaling;
    float denom = scaled * scaled + SIGMA_DATA_SQ;
    return new float[] {SIGMA_DATA_SQ / denom, scaled / (float) Math.sqrt(denom)};
  }

  /** A step that must not inject noise: only the last one may be taken this way. */
  @Override
  public StepOutput step(Tensor modelOutput, long timestep, Tensor sample) {
    return step(modelOutput, timestep, sample, shape -> {
      throw new IllegalStateException("LCM step at timestep " + timestep + " needs noise: pass a StepNoise");
    });
  }

  @Override
  public StepOutput step(Tensor modelOutput, long timestep, Tensor sample, StepNoise noise) {
    long[] ts = timesteps();
    if (ts.length == 0) throw new IllegalStateException("call setTimesteps(n) before step()");
    int index = -1;
    for (int i = 0; i < ts.length; i++) {
      if (ts[i] == timestep) {
        index = i;
        break;
      }
    }
    if (index < 0) throw new IllegalArgumentException("timestep " + timestep + " is not one of " + java.util.Arrays.toString(ts));
    boolean last = index == ts.length - 1;
    long prev = last ? timestep : ts[index + 1];
    float alphaProdT = alphasCumprod[checkTimestep(timestep)];
    float alphaProdTPrev = prev >= 0 ? alphasCumprod[(int) prev] : finalAlphaCumprod;
    float sqrtAlpha = (float) Math.sqrt(alphaProdT);
    float sqrtBeta = (float) Math.sqrt(1f - alphaProdT);
    float[] c = boundaryScalings(timestep);
    Tensor x0 = switch (config.predictionType()) {
      case EPSILON -> sample.sub(modelOutput.mul(F.s(sqrtBeta))).div(F.s(sqrtAlpha));
      case SAMPLE -> modelOutput;
      case V_PREDICTION -> sample.mul(F.s(sqrtAlpha)).sub(modelOutput.mul(F.s(sqrtBeta)));
    };
    if (config.clipSample()) x0 = F.clamp(x0, -config.clipSampleRange(), config.clipSampleRange());
    Tensor denoised = x0.mul(F.s(c[1])).add(sample.mul(F.s(c[0])));
    if (last) return new StepOutput(denoised, denoised);
    Tensor fresh = noise.randn(Tensors.shape(modelOutput)).to(denoised.device(), Tensors.dtype(denoised));
    Tensor prevSample = denoised.mul(F.s((float) Math.sqrt(alphaProdTPrev)))
        .add(fresh.mul(F.s((float) Math.sqrt(1f - alphaProdTPrev))));
    return new StepOutput(prevSample, denoised);
  }

  @Override
  public String toString() {
    return "LCMScheduler(" + config.betaSchedule().jsonName() + ", " + config.predictionType().jsonName()
        + ", original_inference_steps=" + originalInferenceSteps + ", steps=" + numInferenceSteps + ")";
  }
}
