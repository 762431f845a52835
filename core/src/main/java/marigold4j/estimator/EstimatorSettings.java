package marigold4j.estimator;

import marigold4j.image.Resize.Interpolation;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.pipeline.NoiseType;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;

/**
 * The settings of one estimator call, the one vocabulary of every family and client. A null field means "the
 * estimator's default" ({@link Estimator#defaults()}); a family ignores what it has no use for (GeoWizard has no
 * resampling choice, Marigold no domain).
 *
 * @param denoisingSteps scheduler steps
 * @param ensembleSize predictions to ensemble (1 = none)
 * @param processingRes long edge before inference; 0 = native resolution
 * @param matchInputRes resize the maps back to the input size
 * @param resample interpolation of the resizes
 * @param batchSize ensemble members per batch; 0 = automatic
 * @param colorMap colormap of the depth visualisation
 * @param noise initial latent
 * @param timestepSpacing scheduler timestep spacing
 * @param domain scene domain (GeoWizard)
 * @param timestep the fixed UNet timestep of a single-step model (Lotus)
 * @param disparity the model predicts disparity: the depth visualisation's colours are reversed (Lotus)
 */
public record EstimatorSettings(Integer denoisingSteps, Integer ensembleSize, Integer processingRes,
    Boolean matchInputRes, Interpolation resample, Integer batchSize, String colorMap, NoiseType noise,
    TimestepSpacing timestepSpacing, Domain domain, Integer timestep, Boolean disparity) {
  /** Checks the values that are set; every error names the setting as the command line spells it. */
  public EstimatorSettings {
    if (denoisingSteps != null && denoisingSteps < 1) {
      throw new IllegalArgumentException("--denoise-steps must be 1 or more, got " + denoisingSteps);
    }
    if (ensembleSize != null && ensembleSize < 1) {
      throw new IllegalArgumentException("--ensemble-size must be 1 or more, got " + ensembleSize);
    }
    if (processingRes != null && processingRes < 0) {
      throw new IllegalArgumentException("--processing-res must be 0 (native resolution) or more, got "
          + processingRes);
    }
    if (batchSize != null && batchSize < 0) {
      throw new IllegalArgumentException("--batch-size must be 0 (automatic) or more, got " + batchSize);
    }
    if (timestep != null && timestep < 0) {
      throw new IllegalArgumentException("--timestep must be 0 or more, got " + timestep);
    }
  }

  /** Nothing set: every value the estimator's default. */
  public static EstimatorSettings defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from these settings. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.denoisingSteps = denoisingSteps;
    b.ensembleSize = ensembleSize;
    b.processingRes = processingRes;
    b.matchInputRes = matchInputRes;
    b.resample = resample;
    b.batchSize = batchSize;
    b.colorMap = colorMap;
    b.noise = noise;
    b.timestepSpacing = timestepSpacing;
    b.domain = domain;
    b.timestep = timestep;
    b.disparity = disparity;
    return b;
  }

  /** Builds {@link EstimatorSettings}; every setter takes null for "the default". */
  public static final class Builder {
    private Integer denoisingSteps;
    private Integer ensembleSize;
    private Integer processingRes;
    private Boolean matchInputRes;
    private Interpolation resample;
    private Integer batchSize;
    private String colorMap;
    private NoiseType noise;
    private TimestepSpacing timestepSpacing;
    private Domain domain;
    private Integer timestep;
    private Boolean disparity;

    private Builder() {}

    public Builder denoisingSteps(Integer v) {
      denoisingSteps = v;
      return this;
    }

    public Builder ensembleSize(Integer v) {
      ensembleSize = v;
      return this;
    }

    public Builder processingRes(Integer v) {
      processingRes = v;
      return this;
    }

    public Builder matchInputRes(Boolean v) {
      matchInputRes = v;
      return this;
    }

    public Builder resample(Interpolation v) {
      resample = v;
      return this;
    }

    public Builder batchSize(Integer v) {
      batchSize = v;
      return this;
    }

    public Builder colorMap(String v) {
      colorMap = v;
      return this;
    }

    public Builder noise(NoiseType v) {
      noise = v;
      return this;
    }

    public Builder timestepSpacing(TimestepSpacing v) {
      timestepSpacing = v;
      return this;
    }

    public Builder domain(Domain v) {
      domain = v;
      return this;
    }

    public Builder timestep(Integer v) {
      timestep = v;
      return this;
    }

    public Builder disparity(Boolean v) {
      disparity = v;
      return this;
    }

    public EstimatorSettings build() {
      return new EstimatorSettings(denoisingSteps, ensembleSize, processingRes, matchInputRes, resample, batchSize,
          colorMap, noise, timestepSpacing, domain, timestep, disparity);
    }
  }
}
