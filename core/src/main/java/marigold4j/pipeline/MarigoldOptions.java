package marigold4j.pipeline;

import marigold4j.image.Resize.Interpolation;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;

/**
 * The settings of one Marigold call, named as the original {@code MarigoldPipeline.__call__} / run.py options.
 *
 * @param denoisingSteps DDIM steps (E2E-FT: 1)
 * @param ensembleSize predictions to ensemble (1 = no ensembling)
 * @param processingRes long edge the image is resized to before inference; 0 = native resolution
 * @param matchInputRes resize the prediction back to the input size
 * @param resampleMethod interpolation of both resizes
 * @param batchSize ensemble members per UNet batch; 0 = automatic
 * @param colorMap colormap of the depth visualisation (only "Spectral" is built in); null = none
 * @param noise initial latent
 * @param modality depth or normals (what the checkpoint was trained for)
 * @param timestepSpacing DDIM timestep spacing (run.py overrides the checkpoint's with trailing by default)
 */
public record MarigoldOptions(
    int denoisingSteps,
    int ensembleSize,
    int processingRes,
    boolean matchInputRes,
    Interpolation resampleMethod,
    int batchSize,
    String colorMap,
    NoiseType noise,
    Modality modality,
    TimestepSpacing timestepSpacing) {

  public MarigoldOptions {
    if (denoisingSteps < 1) throw new IllegalArgumentException("denoising steps must be >= 1, got " + denoisingSteps);
    if (ensembleSize < 1) throw new IllegalArgumentException("ensemble size must be >= 1, got " + ensembleSize);
    if (processingRes < 0) throw new IllegalArgumentException("processing resolution must be >= 0, got " + processingRes);
    if (batchSize < 0) throw new IllegalArgumentException("batch size must be >= 0, got " + batchSize);
  }

  /** run.py's defaults for the E2E-FT checkpoints: 1 step, ensemble 1, zeros, trailing, 768, bilinear. */
  public static MarigoldOptions e2eDefaults(Modality modality) {
    return new MarigoldOptions(1, 1, 768, true, Interpolation.BILINEAR, 0, "Spectral", NoiseType.ZEROS, modality,
        TimestepSpacing.TRAILING);
  }

  public MarigoldOptions withDenoisingSteps(int v) {
    return new MarigoldOptions(v, ensembleSize, processingRes, matchInputRes, resampleMethod, batchSize, colorMap,
        noise, modality, timestepSpacing);
  }

  public MarigoldOptions withEnsembleSize(int v) {
    return new MarigoldOptions(denoisingSteps, v, processingRes, matchInputRes, resampleMethod, batchSize, colorMap,
        noise, modality, timestepSpacing);
  }

  public MarigoldOptions withProcessingRes(int v) {
    return new MarigoldOptions(denoisingSteps, ensembleSize, v, matchInputRes, resampleMethod, batchSize, colorMap,
        noise, modality, timestepSpacing);
  }

  public MarigoldOptions withMatchInputRes(boolean v) {
    return new MarigoldOptions(denoisingSteps, ensembleSize, processingRes, v, resampleMethod, batchSize, colorMap,
        noise, modality, timestepSpacing);
  }

  public MarigoldOptions withResampleMethod(Interpolation v) {
    return new MarigoldOptions(denoisingSteps, ensembleSize, processingRes, matchInputRes, v, batchSize, colorMap,
        noise, modality, timestepSpacing);
  }

  public MarigoldOptions withBatchSize(int v) {
    return new MarigoldOptions(denoisingSteps, ensembleSize, processingRes, matchInputRes, resampleMethod, v, colorMap,
        noise, modality, timestepSpacing);
  }

  public MarigoldOptions withColorMap(String v) {
    return new MarigoldOptions(denoisingSteps, ensembleSize, processingRes, matchInputRes, resampleMethod, batchSize, v,
        noise, modality, timestepSpacing);
  }

  public MarigoldOptions withNoise(NoiseType v) {
    return new MarigoldOptions(denoisingSteps, ensembleSize, processingRes, matchInputRes, resampleMethod, batchSize,
        colorMap, v, modality, timestepSpacing);
  }

  public MarigoldOptions withModality(Modality v) {
    return new MarigoldOptions(denoisingSteps, ensembleSize, processingRes, matchInputRes, resampleMethod, batchSize,
        colorMap, noise, v, timestepSpacing);
  }

  public MarigoldOptions withTimestepSpacing(TimestepSpacing v) {
    return new MarigoldOptions(denoisingSteps, ensembleSize, processingRes, matchInputRes, resampleMethod, batchSize,
        colorMap, noise, modality, v);
  }
}
