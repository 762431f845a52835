package marigold4j.pipeline;

import marigold4j.image.Resize.Interpolation;

/**
 * The settings of one Lotus call, as Lotus' {@code infer.py} takes them from its command line.
 *
 * @param task what the checkpoint predicts: depth ({@code --task_name depth}) or normals ({@code normal})
 * @param processingRes long edge before inference ({@code --processing_res}); 0 = native resolution
 * @param matchInputRes resize the prediction back to the input size (off with {@code --output_processing_res})
 * @param resampleMethod interpolation of the input resize ({@code --resample_method}); the resize back is always
 *     nearest-exact, as in the original
 * @param timestep the one UNet timestep ({@code --timestep})
 * @param disparity the checkpoint predicts disparity: the depth visualisation's colours are reversed
 *     ({@code --disparity})
 */
public record LotusOptions(Modality task, int processingRes, boolean matchInputRes, Interpolation resampleMethod,
    int timestep, boolean disparity) {
  /** infer.py's {@code processing_res} when none is given (the pipelines' {@code default_processing_resolution}). */
  public static final int DEFAULT_PROCESSING_RES = 768;
  /** infer.py's {@code --timestep} default, for Lotus-G and Lotus-D alike. */
  public static final int DEFAULT_TIMESTEP = 999;

  public LotusOptions {
    if (task == null) throw new IllegalArgumentException("a Lotus call needs its task (depth or normals)");
    if (processingRes < 0) {
      throw new IllegalArgumentException("--processing-res must be 0 (native resolution) or more, got "
          + processingRes);
    }
    if (timestep < 0) throw new IllegalArgumentException("--timestep must be 0 or more, got " + timestep);
    if (resampleMethod == null) throw new IllegalArgumentException("a Lotus call needs its resampling method");
  }

  /** infer.py's defaults for {@code task}: 768 px, bilinear, resized back, timestep 999, depth colours. */
  public static LotusOptions inferPyDefaults(Modality task) {
    return new LotusOptions(task, DEFAULT_PROCESSING_RES, true, Interpolation.BILINEAR, DEFAULT_TIMESTEP, false);
  }

  public LotusOptions withProcessingRes(int v) {
    return new LotusOptions(task, v, matchInputRes, resampleMethod, timestep, disparity);
  }

  public LotusOptions withMatchInputRes(boolean v) {
    return new LotusOptions(task, processingRes, v, resampleMethod, timestep, disparity);
  }

  public LotusOptions withResampleMethod(Interpolation v) {
    return new LotusOptions(task, processingRes, matchInputRes, v, timestep, disparity);
  }

  public LotusOptions withTimestep(int v) {
    return new LotusOptions(task, processingRes, matchInputRes, resampleMethod, v, disparity);
  }

  public LotusOptions withDisparity(boolean v) {
    return new LotusOptions(task, processingRes, matchInputRes, resampleMethod, timestep, v);
  }
}
