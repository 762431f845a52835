package marigold4j.train;

import org.bytedeco.pytorch.Tensor;

/**
 * One micro-batch as E2E-FT's data loaders yield it. A target the run's modality does not use may be null.
 *
 * @param rgb (B, 3, H, W) float32 in [-1, 1]
 * @param valMask (B, 1, H, W) bool, true where the target is valid
 * @param depth (B, 1, H, W) metric depth in metres (the loaders' {@code "metric"}), or null
 * @param normals (B, 3, H, W) unit normals, zero where invalid, or null
 */
public record TrainingBatch(Tensor rgb, Tensor valMask, Tensor depth, Tensor normals) {
  public TrainingBatch {
    if (rgb == null || valMask == null) throw new IllegalArgumentException("a training batch needs rgb and valMask");
  }

  /** The batch size B. */
  public long size() {
    return rgb.size(0);
  }
}
