package marigold4j.train;

import java.util.List;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.train.data.LoaderDraws;
import org.bytedeco.pytorch.Tensor;

/**
 * One micro-batch as E2E-FT's data loaders yield it. A target the run's modality does not use may be null.
 *
 * @param rgb (B, 3, H, W) float32 in [-1, 1]
 * @param valMask (B, 1, H, W) bool, true where the target is valid
 * @param metricDepth (B, 1, H, W) metric depth in metres (the loaders' {@code "metric"}), or null
 * @param normals (B, 3, H, W) unit normals, zero where invalid, or null
 * @param domain the scene domain of the batch's first item ({@link Domain#INDOOR} for Hypersim,
 *     {@link Domain#OUTDOOR} for Virtual KITTI 2), which GeoWizard's class labels take; null when unknown
 * @param loaderDraws what the original's data loaders draw from the process-wide generators to produce this batch,
 *     replayed by a seeded run ({@link TrainingRandom#replay}); empty for batches that come from no data loader
 */
public record TrainingBatch(Tensor rgb, Tensor valMask, Tensor metricDepth, Tensor normals, Domain domain,
    List<LoaderDraws> loaderDraws) {
  public TrainingBatch {
    if (rgb == null || valMask == null) throw new IllegalArgumentException("a training batch needs rgb and valMask");
    loaderDraws = loaderDraws == null ? List.of() : List.copyOf(loaderDraws);
  }

  /** A batch without domain that no data loader produced. */
  public TrainingBatch(Tensor rgb, Tensor valMask, Tensor metricDepth, Tensor normals) {
    this(rgb, valMask, metricDepth, normals, null, List.of());
  }

  /** The same tensors with the scene domain set. */
  public TrainingBatch withDomain(Domain d) {
    return new TrainingBatch(rgb, valMask, metricDepth, normals, d, loaderDraws);
  }

  /** The batch size B. */
  public long size() {
    return rgb.size(0);
  }
}
