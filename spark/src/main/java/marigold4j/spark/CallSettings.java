package marigold4j.spark;

import java.io.Serializable;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.image.Resize.Interpolation;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.pipeline.NoiseType;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;

/**
 * The per-image settings of a Spark prediction, with {@code predict}'s option names and meanings (null = the
 * checkpoint's default, as {@code predict} leaves it). Serializable, so it travels to the executors, which turn it
 * into the core's {@link EstimatorSettings}.
 */
public record CallSettings(Integer denoiseSteps, int ensembleSize, Integer processingRes, boolean outputProcessingRes,
    String resampleMethod, String resampleMethodInput, String resampleMethodOutput, int batchSize, String colorMap,
    String noise, String timestepSpacing, String domain, String ensembleReduction, boolean outputUncertainty,
    Integer timestep, Boolean disparity, long seed) implements Serializable {

  /**
   * The core's settings for these values; every value is checked as {@code predict} checks it (the message names the
   * option), so the driver calls it once before any Spark job starts.
   */
  public EstimatorSettings toEstimatorSettings() {
    Interpolation resample = Interpolation.fromMarigoldNameOrNull(resampleMethod);
    Interpolation resampleIn = Interpolation.fromTorchName(resampleMethodInput != null ? resampleMethodInput
        : resampleMethod);
    Interpolation resampleOut = Interpolation.fromTorchName(resampleMethodOutput != null ? resampleMethodOutput
        : resampleMethod);
    return EstimatorSettings.builder().denoisingSteps(denoiseSteps).processingRes(processingRes)
        .ensembleSize(ensembleSize).matchInputRes(!outputProcessingRes).resample(resample).batchSize(batchSize)
        .colorMap(colorMap).noise(NoiseType.parse(noise)).timestepSpacing(TimestepSpacing.parse(timestepSpacing))
        .domain(Domain.parse(domain)).resampleInput(resampleIn).resampleOutput(resampleOut)
        .ensembleReduction(ensembleReduction).outputUncertainty(outputUncertainty).timestep(timestep)
        .disparity(disparity).build();
  }

  /** Whether {@code --resample-method} is one Marigold's run.py knows (bilinear, bicubic, nearest). */
  public boolean marigoldResample() {
    return Interpolation.fromMarigoldNameOrNull(resampleMethod) != null;
  }
}
