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
 * @param resampleInput diffusers' {@code resample_method_input} (torch mode names; {@code nearest} is legacy nearest)
 * @param resampleOutput diffusers' {@code resample_method_output}
 * @param ensembleReduction ensemble reduction: median / mean (depth, intrinsics), closest / mean (normals)
 * @param ensembleRegularizerStrength depth ensembling's regularizer strength
 * @param ensembleMaxIter depth ensembling's optimiser iterations
 * @param ensembleTol depth ensembling's optimiser tolerance
 * @param ensembleMaxRes depth ensembling's alignment resolution (long edge)
 * @param outputUncertainty also produce the ensemble's uncertainty maps
 * @param outputLatent also produce the final prediction latents
 * @param latents the initial prediction latents (float32 (N*E, 4T, h, w)) instead of noise
 * @param timestep the fixed UNet timestep of a single-step model (Lotus)
 * @param disparity the model predicts disparity: the depth visualisation's colours are reversed (Lotus)
 * @param tiles tiled high-resolution inference (null = untiled); applied by
 *     {@link marigold4j.estimator.tiles.Tiling#predict}, which estimators' own {@code predict} ignore
 */
public record EstimatorSettings(Integer denoisingSteps, Integer ensembleSize, Integer processingRes,
    Boolean matchInputRes, Interpolation resample, Integer batchSize, String colorMap, NoiseType noise,
    TimestepSpacing timestepSpacing, Domain domain, Interpolation resampleInput, Interpolation resampleOutput,
    String ensembleReduction, Double ensembleRegularizerStrength, Integer ensembleMaxIter, Double ensembleTol,
    Integer ensembleMaxRes, Boolean outputUncertainty, Boolean outputLatent, marigold4j.image.Npy.Array latents,
    Integer timestep, Boolean disparity, marigold4j.estimator.tiles.TileSettings tiles) {
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
    if (ensembleReduction != null && !java.util.List.of("median", "mean", "closest").contains(ensembleReduction)) {
      throw new IllegalArgumentException("--ensemble-reduction must be median, mean or closest, got '"
          + ensembleReduction + "'");
    }
    if (ensembleMaxIter != null && ensembleMaxIter < 0) {
      throw new IllegalArgumentException("--ensemble-max-iter must be 0 or more, got " + ensembleMaxIter);
    }
    if (ensembleTol != null && !(ensembleTol >= 0)) {
      throw new IllegalArgumentException("--ensemble-tol must be 0 or more, got " + ensembleTol);
    }
    if (ensembleMaxRes != null && ensembleMaxRes < 1) {
      throw new IllegalArgumentException("--ensemble-max-res must be 1 or more, got " + ensembleMaxRes);
    }
    if (ensembleRegularizerStrength != null && !(ensembleRegularizerStrength >= 0)) {
      throw new IllegalArgumentException("--ensemble-regularizer-strength must be 0 or more, got "
          + ensembleRegularizerStrength);
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
    b.resampleInput = resampleInput;
    b.resampleOutput = resampleOutput;
    b.ensembleReduction = ensembleReduction;
    b.ensembleRegularizerStrength = ensembleRegularizerStrength;
    b.ensembleMaxIter = ensembleMaxIter;
    b.ensembleTol = ensembleTol;
    b.ensembleMaxRes = ensembleMaxRes;
    b.outputUncertainty = outputUncertainty;
    b.outputLatent = outputLatent;
    b.latents = latents;
    b.timestep = timestep;
    b.disparity = disparity;
    b.tiles = tiles;
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
    private Interpolation resampleInput;
    private Interpolation resampleOutput;
    private String ensembleReduction;
    private Double ensembleRegularizerStrength;
    private Integer ensembleMaxIter;
    private Double ensembleTol;
    private Integer ensembleMaxRes;
    private Boolean outputUncertainty;
    private Boolean outputLatent;
    private marigold4j.image.Npy.Array latents;
    private Integer timestep;
    private Boolean disparity;
    private marigold4j.estimator.tiles.TileSettings tiles;

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

    public Builder resampleInput(Interpolation v) {
      resampleInput = v;
      return this;
    }

    public Builder resampleOutput(Interpolation v) {
      resampleOutput = v;
      return this;
    }

    public Builder ensembleReduction(String v) {
      ensembleReduction = v;
      return this;
    }

    public Builder ensembleRegularizerStrength(Double v) {
      ensembleRegularizerStrength = v;
      return this;
    }

    public Builder ensembleMaxIter(Integer v) {
      ensembleMaxIter = v;
      return this;
    }

    public Builder ensembleTol(Double v) {
      ensembleTol = v;
      return this;
    }

    public Builder ensembleMaxRes(Integer v) {
      ensembleMaxRes = v;
      return this;
    }

    public Builder outputUncertainty(Boolean v) {
      outputUncertainty = v;
      return this;
    }

    public Builder outputLatent(Boolean v) {
      outputLatent = v;
      return this;
    }

    public Builder latents(marigold4j.image.Npy.Array v) {
      latents = v;
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

    /** Tiled high-resolution inference, or null for none. */
    public Builder tiles(marigold4j.estimator.tiles.TileSettings v) {
      tiles = v;
      return this;
    }

    public EstimatorSettings build() {
      return new EstimatorSettings(denoisingSteps, ensembleSize, processingRes, matchInputRes, resample, batchSize,
          colorMap, noise, timestepSpacing, domain, resampleInput, resampleOutput, ensembleReduction,
          ensembleRegularizerStrength, ensembleMaxIter, ensembleTol, ensembleMaxRes, outputUncertainty, outputLatent,
          latents, timestep, disparity, tiles);
    }
  }
}
