package marigold4j.train;

import java.util.List;
import java.util.Locale;
import marigold4j.torch.ProcessGroups;
import org.bytedeco.pytorch.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Data-parallel training as accelerate's multi-GPU launch gives the original ({@code DistributedDataParallel}): every
 * rank holds the whole UNet and its own shard of every global batch; at each accumulation boundary the gradients are
 * averaged over the ranks (bucketed all-reduce) before clipping, so every rank takes the same optimizer step and the
 * parameters stay identical, which a checksum compared across ranks verifies every {@link #checkEvery()} steps.
 * Rank 0 alone writes logs, checkpoints and the final pipeline.
 *
 * <p>The communication runs after the last backward pass of a window, not overlapped with it: libtorch's
 * {@code Reducer} (DDP's gradient hooks) is not usable through the Java binding, and a hand-made hook per parameter
 * would have to run inside the autograd engine's threads. See docs/distributed.md for what that costs.
 */
public final class DataParallel implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DataParallel.class);
  private final ProcessGroups group;
  private final long bucketBytes;
  private final int checkEvery;

  /**
   * @param checkEvery compare the parameters' checksum across ranks every this many optimizer steps (and at every
   *     checkpoint)
   */
  public DataParallel(ProcessGroups group, long bucketBytes, int checkEvery) {
    if (checkEvery < 1) throw new IllegalArgumentException("checkEvery must be >= 1");
    this.group = group;
    this.bucketBytes = bucketBytes;
    this.checkEvery = checkEvery;
  }

  /** Joins the job with DDP's 25 MiB buckets and a parameter check every 10 steps. */
  public static DataParallel join(ProcessGroups.Config config) {
    return new DataParallel(ProcessGroups.init(config), ProcessGroups.DEFAULT_BUCKET_BYTES, 10);
  }

  public int rank() {
    return group.rank();
  }

  public int worldSize() {
    return group.worldSize();
  }

  /** Rank 0: the one that writes files and prints. */
  public boolean isMain() {
    return group.rank() == 0;
  }

  public int checkEvery() {
    return checkEvery;
  }

  public ProcessGroups group() {
    return group;
  }

  /** Makes every rank start from rank 0's weights (DDP broadcasts the module's state at construction). */
  void broadcastParameters(E2EFTTrainable model) {
    List<Tensor> all = model.unet().stateDictSlots().values().stream().map(p -> p.get()).toList();
    group.broadcast(all, 0);
  }

  /** Averages the gradients over the ranks (before clipping). */
  void averageGradients(List<Tensor> params) {
    group.averageGradients(params, bucketBytes);
  }

  /** Each value's mean over the ranks. */
  double[] mean(double... values) {
    double[] s = group.allreduceSum(values);
    for (int i = 0; i < s.length; i++) s[i] /= group.worldSize();
    return s;
  }

  /**
   * Fails on every rank when the parameters are not identical on all of them (a rank that computed something else:
   * different data, code or libraries).
   */
  void checkIdentical(List<Tensor> params, long step) {
    double[] mine = ProcessGroups.checksum(params);
    int world = group.worldSize();
    double[] all = new double[2 * world];
    all[2 * rank()] = mine[0];
    all[2 * rank() + 1] = mine[1];
    all = group.allreduceSum(all);
    for (int r = 1; r < world; r++) {
      if (all[2 * r] != all[0] || all[2 * r + 1] != all[1]) {
        throw new IllegalStateException(String.format(Locale.ROOT, "the parameters differ across ranks after step %d: "
            + "rank %d's checksum is (%.17g, %.17g), rank 0's (%.17g, %.17g); the ranks must run the same code and "
            + "libraries on the same kind of device", step, r, all[2 * r], all[2 * r + 1], all[0], all[1]));
      }
    }
    LOG.debug("step {}: parameters identical on {} ranks", step, world);
  }

  /** Every rank's bytes, indexed by rank. */
  byte[][] allgather(byte[] mine) {
    return group.allgatherBytes(mine);
  }

  void barrier(String what) {
    group.barrier(what);
  }

  /** Tells the other ranks why this one stops (they name it in their errors). */
  public void reportFailure(String message) {
    group.reportFailure(message);
  }

  @Override
  public void close() {
    group.close();
  }
}
