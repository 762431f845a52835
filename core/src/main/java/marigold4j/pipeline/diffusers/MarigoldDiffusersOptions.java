package marigold4j.pipeline.diffusers;

import marigold4j.image.Resize.Interpolation;
import marigold4j.pipeline.diffusers.MarigoldEnsembles.DepthSettings;
import marigold4j.pipeline.diffusers.MarigoldEnsembles.Reduction;

/**
 * The arguments of one call of diffusers' Marigold pipelines ({@code __call__}), with the checkpoint's defaults
 * resolved ({@link MarigoldDiffusersPipeline#defaults()}).
 *
 * @param numInferenceSteps {@code num_inference_steps}
 * @param ensembleSize {@code ensemble_size}
 * @param processingResolution {@code processing_resolution}; 0 = native, else a multiple of 8
 * @param matchInputResolution resize the outputs back to the input size
 * @param resampleInput {@code resample_method_input}
 * @param resampleOutput {@code resample_method_output}
 * @param batchSize {@code batch_size}
 * @param reduction {@code ensembling_kwargs["reduction"]}: depth / intrinsics median or mean, normals closest or mean
 * @param depthEnsemble the rest of depth's {@code ensembling_kwargs}
 * @param outputUncertainty {@code output_uncertainty} (needs an ensemble)
 * @param outputLatent {@code output_latent}
 */
public record MarigoldDiffusersOptions(int numInferenceSteps, int ensembleSize, int processingResolution,
    boolean matchInputResolution, Interpolation resampleInput, Interpolation resampleOutput, int batchSize,
    Reduction reduction, DepthSettings depthEnsemble, boolean outputUncertainty, boolean outputLatent) {

  /** diffusers' {@code check_inputs}, with the command line's option names in the messages. */
  public MarigoldDiffusersOptions {
    if (numInferenceSteps < 1) {
      throw new IllegalArgumentException("--denoise-steps must be 1 or more, got " + numInferenceSteps);
    }
    if (ensembleSize < 1) throw new IllegalArgumentException("--ensemble-size must be 1 or more, got " + ensembleSize);
    if (processingResolution < 0 || processingResolution % 8 != 0) {
      throw new IllegalArgumentException("--processing-res must be 0 (native) or a positive multiple of 8, got "
          + processingResolution);
    }
    if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be 1 or more, got " + batchSize);
    if (outputUncertainty && ensembleSize == 1) {
      throw new IllegalArgumentException("--output-uncertainty needs --ensemble-size greater than 1");
    }
  }

  public MarigoldDiffusersOptions withNumInferenceSteps(int v) {
    return new MarigoldDiffusersOptions(v, ensembleSize, processingResolution, matchInputResolution, resampleInput,
        resampleOutput, batchSize, reduction, depthEnsemble, outputUncertainty, outputLatent);
  }

  public MarigoldDiffusersOptions withEnsemble(int size, Reduction r, boolean uncertainty) {
    return new MarigoldDiffusersOptions(numInferenceSteps, size, processingResolution, matchInputResolution,
        resampleInput, resampleOutput, batchSize, r, depthEnsemble, uncertainty, outputLatent);
  }

  public MarigoldDiffusersOptions withProcessingResolution(int v) {
    return new MarigoldDiffusersOptions(numInferenceSteps, ensembleSize, v, matchInputResolution, resampleInput,
        resampleOutput, batchSize, reduction, depthEnsemble, outputUncertainty, outputLatent);
  }

  public MarigoldDiffusersOptions withMatchInputResolution(boolean v) {
    return new MarigoldDiffusersOptions(numInferenceSteps, ensembleSize, processingResolution, v, resampleInput,
        resampleOutput, batchSize, reduction, depthEnsemble, outputUncertainty, outputLatent);
  }

  public MarigoldDiffusersOptions withResample(Interpolation in, Interpolation out) {
    return new MarigoldDiffusersOptions(numInferenceSteps, ensembleSize, processingResolution, matchInputResolution,
        in, out, batchSize, reduction, depthEnsemble, outputUncertainty, outputLatent);
  }

  public MarigoldDiffusersOptions withBatchSize(int v) {
    return new MarigoldDiffusersOptions(numInferenceSteps, ensembleSize, processingResolution, matchInputResolution,
        resampleInput, resampleOutput, v, reduction, depthEnsemble, outputUncertainty, outputLatent);
  }

  public MarigoldDiffusersOptions withDepthEnsemble(DepthSettings v) {
    return new MarigoldDiffusersOptions(numInferenceSteps, ensembleSize, processingResolution, matchInputResolution,
        resampleInput, resampleOutput, batchSize, reduction, v, outputUncertainty, outputLatent);
  }

  public MarigoldDiffusersOptions withOutputLatent(boolean v) {
    return new MarigoldDiffusersOptions(numInferenceSteps, ensembleSize, processingResolution, matchInputResolution,
        resampleInput, resampleOutput, batchSize, reduction, depthEnsemble, outputUncertainty, v);
  }
}
