package marigold4j.schedulers;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ConfigJson;

/**
 * A diffusers scheduler configuration ({@code scheduler/scheduler_config.json}) as {@link DDIMScheduler} and
 * {@link DDPMScheduler} of diffusers 0.30.2 read it. Keys a file leaves out take the diffusers defaults; values this
 * implementation does not support are rejected by {@link #read(Path)} with a {@link CheckpointException} naming the key
 * and the file.
 *
 * @param className {@code _class_name}, e.g. {@code DDIMScheduler} (null when built in code)
 * @param numTrainTimesteps number of diffusion steps of training (1000)
 * @param betaStart first beta of the linear / scaled_linear schedules
 * @param betaEnd last beta of the linear / scaled_linear schedules
 * @param betaSchedule how betas are laid out between {@code betaStart} and {@code betaEnd}
 * @param trainedBetas explicit betas (overrides the schedule) or null
 * @param predictionType what the model predicts
 * @param timestepSpacing how inference timesteps are picked from the training ones
 * @param stepsOffset added to {@code leading} timesteps
 * @param setAlphaToOne DDIM: whether the step past timestep 0 uses alpha_cumprod 1 (else alphas_cumprod[0])
 * @param clipSample whether the predicted x0 is clamped to +-{@code clipSampleRange}
 * @param clipSampleRange clamp bound for {@code clipSample}
 * @param rescaleBetasZeroSnr whether betas are rescaled to zero terminal SNR (arXiv:2305.08891, Algorithm 1)
 * @param varianceType DDPM: the variance of the noise added per step
 * @param source the file this was read from (only for error messages), or null
 */
public record SchedulerConfig(
    String className,
    int numTrainTimesteps,
    double betaStart,
    double betaEnd,
    BetaSchedule betaSchedule,
    double[] trainedBetas,
    PredictionType predictionType,
    TimestepSpacing timestepSpacing,
    int stepsOffset,
    boolean setAlphaToOne,
    boolean clipSample,
    double clipSampleRange,
    boolean rescaleBetasZeroSnr,
    VarianceType varianceType,
    Path source) {

  /** {@code beta_schedule}. */
  public enum BetaSchedule {
    LINEAR, SCALED_LINEAR, SQUAREDCOS_CAP_V2,
    /** Only DDPMScheduler knows this one. */
    SIGMOID;

    public String jsonName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** {@code prediction_type}. */
  public enum PredictionType {
    EPSILON, V_PREDICTION, SAMPLE;

    public String jsonName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** {@code timestep_spacing} (Table 2 of arXiv:2305.08891). */
  public enum TimestepSpacing {
    LEADING, TRAILING, LINSPACE;

    public String jsonName() {
      return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code leading}, {@code trailing} or {@code linspace} (as the command lines spell it). */
    public static TimestepSpacing parse(String value) {
      for (TimestepSpacing s : values()) {
        if (s.jsonName().equals(value)) return s;
      }
      throw new IllegalArgumentException("timestep spacing '" + value + "': expected leading, trailing or linspace");
    }
  }

  /** {@code variance_type} (DDPMScheduler). */
  public enum VarianceType {
    FIXED_SMALL, FIXED_SMALL_LOG, FIXED_LARGE, FIXED_LARGE_LOG, LEARNED, LEARNED_RANGE;

    public String jsonName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public SchedulerConfig {
    if (numTrainTimesteps <= 0) throw invalid(source, "num_train_timesteps", numTrainTimesteps + " must be positive");
    if (betaSchedule == null || predictionType == null || timestepSpacing == null || varianceType == null) {
      throw new IllegalArgumentException("betaSchedule, predictionType, timestepSpacing and varianceType are required");
    }
    if (trainedBetas != null) {
      if (trainedBetas.length != numTrainTimesteps) {
        throw invalid(source, "trained_betas", trainedBetas.length + " values for num_train_timesteps "
            + numTrainTimesteps);
      }
      trainedBetas = trainedBetas.clone();
    }
  }

  /** The defaults of diffusers 0.30.2's {@code DDIMScheduler()} / {@code DDPMScheduler()}. */
  public static SchedulerConfig defaults() {
    return new SchedulerConfig(null, 1000, 0.0001, 0.02, BetaSchedule.LINEAR, null, PredictionType.EPSILON,
        TimestepSpacing.LEADING, 0, true, true, 1.0, false, VarianceType.FIXED_SMALL, null);
  }

  /**
   * The schedule of Stable Diffusion 2 and every Marigold / E2E-FT checkpoint: scaled_linear 0.00085-0.012,
   * v-prediction, trailing spacing, {@code steps_offset 1}, {@code set_alpha_to_one false}, no clipping.
   */
  public static SchedulerConfig stableDiffusion2() {
    return new SchedulerConfig("DDIMScheduler", 1000, 0.00085, 0.012, BetaSchedule.SCALED_LINEAR, null,
        PredictionType.V_PREDICTION, TimestepSpacing.TRAILING, 1, false, false, 1.0, false, VarianceType.FIXED_SMALL,
        null);
  }

  @Override
  public double[] trainedBetas() {
    return trainedBetas == null ? null : trainedBetas.clone();
  }

  /** This configuration with another timestep spacing (diffusers: {@code from_pretrained(..., timestep_spacing=)}). */
  public SchedulerConfig withTimestepSpacing(TimestepSpacing spacing) {
    return new SchedulerConfig(className, numTrainTimesteps, betaStart, betaEnd, betaSchedule, trainedBetas,
        predictionType, spacing, stepsOffset, setAlphaToOne, clipSample, clipSampleRange, rescaleBetasZeroSnr,
        varianceType, source);
  }

  /** Reads and validates {@code scheduler_config.json}. */
  public static SchedulerConfig read(Path file) {
    Json j = ConfigJson.read(file, Json.class);
    if (Boolean.TRUE.equals(j.thresholding)) {
      // dynamic thresholding is for pixel-space models; no latent checkpoint of this project uses it
      throw invalid(file, "thresholding", "true is not supported");
    }
    SchedulerConfig d = defaults();
    return new SchedulerConfig(
        j.className,
        j.numTrainTimesteps == null ? d.numTrainTimesteps : j.numTrainTimesteps,
        j.betaStart == null ? d.betaStart : j.betaStart,
        j.betaEnd == null ? d.betaEnd : j.betaEnd,
        j.betaSchedule == null ? d.betaSchedule : parse(BetaSchedule.class, j.betaSchedule, "beta_schedule", file),
        j.trainedBetas == null ? null : j.trainedBetas.stream().mapToDouble(Double::doubleValue).toArray(),
        j.predictionType == null ? d.predictionType
            : parse(PredictionType.class, j.predictionType, "prediction_type", file),
        j.timestepSpacing == null ? d.timestepSpacing
            : parse(TimestepSpacing.class, j.timestepSpacing, "timestep_spacing", file),
        j.stepsOffset == null ? d.stepsOffset : j.stepsOffset,
        j.setAlphaToOne == null ? d.setAlphaToOne : j.setAlphaToOne,
        j.clipSample == null ? d.clipSample : j.clipSample,
        j.clipSampleRange == null ? d.clipSampleRange : j.clipSampleRange,
        j.rescaleBetasZeroSnr == null ? d.rescaleBetasZeroSnr : j.rescaleBetasZeroSnr,
        j.varianceType == null ? d.varianceType : parse(VarianceType.class, j.varianceType, "variance_type", file),
        file);
  }

  static CheckpointException invalid(Path file, String key, String problem) {
    String where = file == null ? "scheduler config" : file.toString();
    return new CheckpointException(where + ": " + key + " " + problem);
  }

  private static <E extends Enum<E>> E parse(Class<E> type, String value, String key, Path file) {
    for (E e : type.getEnumConstants()) {
      if (e.name().toLowerCase(Locale.ROOT).equals(value)) return e;
    }
    String allowed = Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase(Locale.ROOT)).toList()
        .toString();
    throw invalid(file, key, "'" + value + "' is not supported (expected one of " + allowed + ")");
  }

  /** The JSON as written; boxed so that absent keys can take the diffusers defaults. */
  record Json(
      @JsonProperty("_class_name") String className,
      @JsonProperty("num_train_timesteps") Integer numTrainTimesteps,
      @JsonProperty("beta_start") Double betaStart,
      @JsonProperty("beta_end") Double betaEnd,
      @JsonProperty("beta_schedule") String betaSchedule,
      @JsonProperty("trained_betas") List<Double> trainedBetas,
      @JsonProperty("prediction_type") String predictionType,
      @JsonProperty("timestep_spacing") String timestepSpacing,
      @JsonProperty("steps_offset") Integer stepsOffset,
      @JsonProperty("set_alpha_to_one") Boolean setAlphaToOne,
      @JsonProperty("clip_sample") Boolean clipSample,
      @JsonProperty("clip_sample_range") Double clipSampleRange,
      @JsonProperty("thresholding") Boolean thresholding,
      @JsonProperty("dynamic_thresholding_ratio") Double dynamicThresholdingRatio,
      @JsonProperty("sample_max_value") Double sampleMaxValue,
      @JsonProperty("rescale_betas_zero_snr") Boolean rescaleBetasZeroSnr,
      @JsonProperty("variance_type") String varianceType,
      @JsonProperty("original_inference_steps") Integer originalInferenceSteps,
      @JsonProperty("timestep_scaling") Double timestepScaling) {}
}
