package marigold4j.eval.depth;

import java.awt.image.BufferedImage;

/**
 * A monocular depth model as the evaluation's inference step uses it ({@code Marigold/infer.py}): one RGB image in,
 * one relative depth map in {@code [0, 1]} out, at the input's resolution (the original's
 * {@code match_input_res=True}).
 */
public interface DepthPredictor extends AutoCloseable {
  /**
   * Predicts depth for one image with the given settings.
   *
   * @param rgb the image as the dataset loader delivers it (KITTI: after the benchmark crop)
   * @return {@code [H, W]} relative depth, {@code H x W} = the image's size
   */
  DepthMap predict(BufferedImage rgb, InferenceSettings settings);

  @Override
  default void close() {}

  /** A depth map: {@code values} holds {@code height x width} float32 values in C order. */
  record DepthMap(int height, int width, float[] values) {
    public DepthMap {
      if (values.length != height * width) {
        throw new IllegalArgumentException(values.length + " values for a " + height + "x" + width + " map");
      }
    }
  }

  /** Opens a predictor for a checkpoint (a hub id or a local folder). */
  @FunctionalInterface
  interface Factory {
    /** Used until an inference pipeline is wired in: evaluation of existing predictions still works. */
    Factory UNAVAILABLE = checkpoint -> {
      throw new IllegalArgumentException("inference pipeline not available in this build: run the inference "
          + "separately and evaluate its predictions with --predictions DIR");
    };

    DepthPredictor open(String checkpoint);
  }
}
