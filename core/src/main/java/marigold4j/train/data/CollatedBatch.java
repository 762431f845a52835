package marigold4j.train.data;

import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * A collated batch of one dataset (the original never mixes datasets within a batch), as
 * {@code torch.utils.data.default_collate} stacks the items' dicts.
 *
 * @param rgb float32 (B, 3, H, W) in [-1, 1]
 * @param normalisedDepth float32 (B, 3, H, W) normalised depth, three identical channels
 * @param metric float32 (B, 1, H, W) metric depth in metres
 * @param normals float32 (B, 3, H, W)
 * @param valMask bool (B, 1, H, W)
 * @param domains each item's domain ("indoor" / "outdoor")
 * @param dataset the dataset's name ("hypersim" / "vkitti")
 * @param sources each item's rgb file
 * @param epoch the epoch it belongs to
 * @param indexInEpoch its plan entry in the epoch
 * @param draws what the original's data pipeline draws from the process-wide generators to produce this batch: one
 *     entry per plan entry consumed (more than one when entries of bad items only were skipped before it)
 */
public record CollatedBatch(Tensor rgb, Tensor normalisedDepth, Tensor metric, Tensor normals, Tensor valMask,
    List<String> domains, String dataset, List<String> sources, long epoch, int indexInEpoch,
    List<LoaderDraws> draws) {

  /** Number of items (smaller than the batch size for an epoch's last batch or after skipped bad items). */
  public int size() {
    return domains.size();
  }

  /** The data position right after this batch, to store in a checkpoint. */
  public DataPosition positionAfter() {
    return new DataPosition(epoch, indexInEpoch + 1);
  }
}
