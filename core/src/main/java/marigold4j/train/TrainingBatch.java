package marigold4j.train;

import java.util.List;
import marigold4j.train.data.LoaderDraws;
import org.bytedeco.pytorch.Tensor;

/**
 * One micro-batch as E2E-FT's data loaders yield it. A target the run's modality does not use may be null.
 *
 * @param rgb (B, 3, H, W) float32 in [-1, 1]
 * @param valMask (B, 1, H, W) bool, true where the target is valid
 * @param depth (B, 1, H, W) metric depth in metres (the loaders' {@code "metric"}), or null
 * @param normals (B, 3, H, W) unit normals, zero where invalid, or null
 * @param domain the scene domain of the batch's first item ({@code "indoor"} for Hypersim, {@code "outdoor"} for
 *     Virtual KITTI 2), which GeoWizard's class labels take; null when unknown
 * @param loaderDraws what the original's data loaders draw from the process-wide generators to produce this batch,
 *     replayed by a seeded run ({@link TrainingRandom#replay}); empty for batches that come from no data loader
 */
public record TrainingBatch(Tensor rgb, Tensor valMask, Tensor depth, Tensor normals, String domain,
    List<LoaderDraws> loaderDraws) {
  public TrainingBatch {
    if (rgb == null || valMask == null) throw new IllegalArgumentException("a training batch needs rgb and valMask");
    loaderDraws = loaderDraws == null ? List.of() : List.copyOf(loaderDraws);
  }

  /** A batch without domain that no data loader produced. */
  public TrainingBatch(Tensor rgb, Tensor valMask, Tensor depth, Tensor normals) {
    this(rgb, valMask, depth, normals, null, List.of());
  }

  /** The same tensors with the scene domain set. */
  public TrainingBatch withDomain(String d) {
    return new TrainingBatch(rgb, valMask, depth, normals, d, loaderDraws);
  }

  /** The batch size B. */
  public long size() {
    return rgb.size(0);
  }
}
