package marigold4j.pipeline;

import java.util.Objects;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;

/**
 * The settings of one GeoWizard call, named as the original {@code DepthNormalEstimationPipeline.__call__} /
 * {@code run_infer.py} options. There is no resampling option: GeoWizard always resizes the input with PIL's bicubic
 * filter, the depth back with PIL's bicubic filter and the normals with OpenCV's nearest neighbour.
 *
 * @param denoisingSteps DDIM steps (E2E-FT: 1)
 * @param ensembleSize predictions to ensemble (1 = no ensembling)
 * @param processingRes long edge the image is resized to before inference; 0 = native resolution
 * @param matchInputRes resize the predictions back to the input size; {@code false} fails in the original (see
 *     {@link GeoWizardPipeline#predict})
 * @param batchSize ensemble members per UNet batch: 0 (automatic) or 1; the original cannot run larger batches
 * @param colorMap colormap of the depth visualisation (only "Spectral" is built in); null = no depth visualisation
 * @param noise initial latent (shared by the depth and the normal half of the batch)
 * @param domain the scene domain the UNet is conditioned on
 * @param timestepSpacing DDIM timestep spacing (run_infer.py overrides the checkpoint's with trailing by default)
 */
public record GeoWizardOptions(
    int denoisingSteps,
    int ensembleSize,
    int processingRes,
    boolean matchInputRes,
    int batchSize,
    String colorMap,
    NoiseType noise,
    Domain domain,
    TimestepSpacing timestepSpacing) {

  public GeoWizardOptions {
    if (denoisingSteps < 1) throw new IllegalArgumentException("denoising steps must be >= 1, got " + denoisingSteps);
    if (ensembleSize < 1) throw new IllegalArgumentException("ensemble size must be >= 1, got " + ensembleSize);
    if (processingRes < 0) {
      throw new IllegalArgumentException("processing resolution must be >= 0, got " + processingRes);
    }
    if (batchSize < 0) throw new IllegalArgumentException("batch size must be >= 0, got " + batchSize);
    Objects.requireNonNull(noise, "noise");
    Objects.requireNonNull(domain, "domain");
    Objects.requireNonNull(timestepSpacing, "timestepSpacing");
  }

  /**
   * run_infer.py's defaults: 1 step, ensemble 1, processing_res 768, match the input size, zeros noise, trailing
   * spacing, Spectral, for the given domain (run_infer.py requires {@code --domain}).
   */
  public static GeoWizardOptions defaults(Domain domain) {
    return new GeoWizardOptions(1, 1, 768, true, 0, "Spectral", NoiseType.ZEROS, domain, TimestepSpacing.TRAILING);
  }

  public GeoWizardOptions withDenoisingSteps(int v) {
    return new GeoWizardOptions(v, ensembleSize, processingRes, matchInputRes, batchSize, colorMap, noise, domain,
        timestepSpacing);
  }

  public GeoWizardOptions withEnsembleSize(int v) {
    return new GeoWizardOptions(denoisingSteps, v, processingRes, matchInputRes, batchSize, colorMap, noise, domain,
        timestepSpacing);
  }

  public GeoWizardOptions withProcessingRes(int v) {
    return new GeoWizardOptions(denoisingSteps, ensembleSize, v, matchInputRes, batchSize, colorMap, noise, domain,
        timestepSpacing);
  }

  public GeoWizardOptions withMatchInputRes(boolean v) {
    return new GeoWizardOptions(denoisingSteps, ensembleSize, processingRes, v, batchSize, colorMap, noise, domain,
        timestepSpacing);
  }

  public GeoWizardOptions withBatchSize(int v) {
    return new GeoWizardOptions(denoisingSteps, ensembleSize, processingRes, matchInputRes, v, colorMap, noise, domain,
        timestepSpacing);
  }

  public GeoWizardOptions withColorMap(String v) {
    return new GeoWizardOptions(denoisingSteps, ensembleSize, processingRes, matchInputRes, batchSize, v, noise, domain,
        timestepSpacing);
  }

  public GeoWizardOptions withNoise(NoiseType v) {
    return new GeoWizardOptions(denoisingSteps, ensembleSize, processingRes, matchInputRes, batchSize, colorMap, v,
        domain, timestepSpacing);
  }

  public GeoWizardOptions withDomain(Domain v) {
    return new GeoWizardOptions(denoisingSteps, ensembleSize, processingRes, matchInputRes, batchSize, colorMap, noise,
        v, timestepSpacing);
  }

  public GeoWizardOptions withTimestepSpacing(TimestepSpacing v) {
    return new GeoWizardOptions(denoisingSteps, ensembleSize, processingRes, matchInputRes, batchSize, colorMap, noise,
        domain, v);
  }

}
