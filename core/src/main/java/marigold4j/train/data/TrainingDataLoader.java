package marigold4j.train.data;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import marigold4j.random.NumpyRandom;
import marigold4j.random.PythonRandom;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training data stream of {@code train.py}: per dataset a {@code DataLoader(batch_size, shuffle)}, and with
 * both Hypersim and Virtual KITTI 2 the 9 : 1 {@link MixedDataLoader}. Items are decoded on background threads
 * into a bounded window of prefetched items, in the exact order they will be consumed, so the result is
 * deterministic for a given seed however many threads decode.
 *
 * <p>Randomness, all derived from {@link Builder#seed(long)}: the mixer's epoch order from numpy's legacy generator
 * ({@code np.random.seed(seed)}, as the original's {@code set_seed} leaves it), the horizontal flips from Python's
 * {@code random} ({@code random.seed(seed)}; one draw per item in consumption order, {@code flip = draw > 1 - p},
 * i.e. {@code random.random() > 0.5} at the default p), and the per-epoch shuffles from a Java generator
 * (torch's sampler stream is not reproduced: see {@code TrainingRandom}). With {@code shuffle(false)} the datasets
 * are read in order. Each batch lists the draws the original's loaders would have made from the process-wide
 * generators to produce it ({@link CollatedBatch#draws()}), for the training loop to replay.
 *
 * <p>Bad data never stops training: an item whose files are missing or corrupt, or which has no valid depth pixel,
 * is reported and left out of its batch (a batch with no usable item is skipped).
 */
public final class TrainingDataLoader {
  private static final Logger LOG = LoggerFactory.getLogger(TrainingDataLoader.class);
  /** The original's mix: 9 Hypersim batches for 1 Virtual KITTI 2 batch. */
  public static final int SPLIT_HYPERSIM = 9;
  public static final int SPLIT_VKITTI = 1;

  private final List<TrainingDataset> datasets;
  private final int batchSize;
  private final boolean shuffle;
  private final long seed;
  private final double hflipProb;
  private final int workers;
  private final int prefetchBatches;
  private final Consumer<String> badItemListener;
  private final MixedDataLoader mixer;
  private final int shardRank;
  private final int shardCount;

  private TrainingDataLoader(Builder b) {
    this.datasets = List.copyOf(b.datasets);
    this.batchSize = b.batchSize;
    this.shuffle = b.shuffle;
    this.seed = b.seed;
    this.hflipProb = b.hflipProb;
    this.workers = b.workers;
    this.prefetchBatches = b.prefetchBatches;
    this.badItemListener = b.badItemListener;
    this.shardRank = b.shardRank;
    this.shardCount = b.shardCount;
    if (datasets.isEmpty()) throw new IllegalArgumentException("no training dataset given");
    for (TrainingDataset d : datasets) {
      if (d.size() == 0) throw new IllegalArgumentException("the " + d.name() + " dataset has no training pairs");
    }
    this.mixer = datasets.size() == 2
        ? new MixedDataLoader(batches(datasets.get(0)), batches(datasets.get(1)), SPLIT_HYPERSIM, SPLIT_VKITTI) : null;
  }

  /** A builder; give at least one of {@link Builder#hypersim} / {@link Builder#vkitti} (or {@link Builder#datasets}). */
  public static Builder builder() {
    return new Builder();
  }

  /** The datasets, Hypersim first when both are used. */
  public List<TrainingDataset> datasets() {
    return datasets;
  }

  /** The seed all data randomness derives from. */
  public long seed() {
    return seed;
  }

  public int batchSize() {
    return batchSize;
  }

  /** {@code len(train_dataloader)}: batches per epoch (bad items can make an epoch yield fewer). */
  public int batchesPerEpoch() {
    return mixer != null ? mixer.length() : batches(datasets.get(0));
  }

  /** The mixer when both datasets are used (null otherwise). */
  public MixedDataLoader mixer() {
    return mixer;
  }

  private int batches(TrainingDataset d) {
    return (d.size() + batchSize - 1) / batchSize; // drop_last=False
  }

  /** An endless iterator over batches (epoch after epoch) from the start. Close it to stop its threads. */
  public BatchIterator iterator() {
    return iterator(DataPosition.START);
  }

  /** An endless iterator resuming at {@code position} (from {@link CollatedBatch#positionAfter()}). */
  public BatchIterator iterator(DataPosition position) {
    return new BatchIterator(position);
  }

  /**
   * One batch of the plan: a dataset and the item indices, with each item's flip; {@code firstOfDataset} marks the
   * dataset's first batch in the epoch (where the original's sampler draws its seed).
   */
  record Entry(int dataset, int[] indices, boolean[] flips, boolean firstOfDataset) {}

  /** Generates the epochs' plans in order, consuming the mixer's and the flips' generators as the original does. */
  final class Planner {
    private final NumpyRandom numpy = new NumpyRandom(seed & 0xffffffffL);
    private final PythonRandom python = new PythonRandom(seed);

    /** The plan of the next epoch (call once per epoch, in order). */
    List<Entry> nextEpoch(long epoch) {
      List<int[]> perDataset = new ArrayList<>();
      for (int d = 0; d < datasets.size(); d++) perDataset.add(order(d, epoch));
      List<Integer> which = new ArrayList<>();
      if (mixer != null) {
        for (boolean first : mixer.createSplit(numpy)) which.add(first ? 0 : 1);
      } else {
        for (int i = 0; i < batches(datasets.get(0)); i++) which.add(0);
      }
      int[] next = new int[datasets.size()];
      List<Entry> plan = new ArrayList<>(which.size());
      for (int d : which) {
        int[] order = perDataset.get(d);
        int from = next[d] * batchSize;
        int[] idx = Arrays.copyOfRange(order, from, Math.min(from + batchSize, order.length));
        plan.add(new Entry(d, idx, new boolean[idx.length], next[d] == 0));
        next[d]++;
      }
      return plan;
    }

    /** Draws the flips of one plan entry (in consumption order). */
    void drawFlips(Entry e) {
      if (!datasets.get(e.dataset()).transform()) return;
      for (int i = 0; i < e.flips().length; i++) e.flips()[i] = python.random() > 1 - hflipProb;
    }

    private int[] order(int d, long epoch) {
      int n = datasets.get(d).size();
      int[] idx = new int[n];
      for (int i = 0; i < n; i++) idx[i] = i;
      if (!shuffle) return idx;
      SplittableRandom r = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (2 * epoch + d + 1)));
      for (int i = n - 1; i > 0; i--) {
        int j = r.nextInt(i + 1);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
      }
      return idx;
    }
  }

  /** One item being decoded; {@code draws}: of its plan entry, after those of other shards' entries before it. */
  private record Pending(long epoch, int entry, int dataset, int index, List<LoaderDraws> draws,
      Future<DecodedItem> result) {}

  /**
   * Yields batches forever, prefetching on background threads. Tensors are created on the thread that calls
   * {@link #next()}, inside its current {@code PointerScope}.
   */
  public final class BatchIterator implements Iterator<CollatedBatch>, AutoCloseable {
    private final Planner planner = new Planner();
    private final ExecutorService pool;
    private final Deque<Pending> pending = new ArrayDeque<>();
    private final int windowItems;
    private final AtomicInteger badItems = new AtomicInteger();
    private long epoch;
    private List<Entry> plan;
    private int nextEntry;
    private long emptyEntriesInARow;
    /** Draws of other shards' plan entries since this shard's last one (see {@link Builder#shard}). */
    private final List<LoaderDraws> otherShards = new ArrayList<>();

    private BatchIterator(DataPosition start) {
      // replay the generators up to the position, without decoding anything
      for (long e = 0; e < start.epoch(); e++) {
        for (Entry entry : planner.nextEpoch(e)) planner.drawFlips(entry);
      }
      epoch = start.epoch();
      plan = planner.nextEpoch(epoch);
      int skip = Math.min(start.batch(), plan.size());
      for (int i = 0; i < skip; i++) planner.drawFlips(plan.get(i));
      nextEntry = skip;
      windowItems = Math.max(2, prefetchBatches) * batchSize;
      AtomicInteger n = new AtomicInteger();
      pool = Executors.newFixedThreadPool(workers, r -> {
        Thread t = new Thread(r, "train-data-" + n.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
    }

    /** Always true: the stream restarts with the next epoch. */
    @Override
    public boolean hasNext() {
      return true;
    }

    /** Items reported as bad so far. */
    public int badItems() {
      return badItems.get();
    }

    /** The epoch of the next scheduled batch. */
    public long epoch() {
      return epoch;
    }

    @Override
    public CollatedBatch next() {
      if (pool.isShutdown()) throw new NoSuchElementException("iterator closed");
      List<LoaderDraws> draws = new ArrayList<>(); // of every plan entry consumed, skipped ones included
      while (true) {
        fill();
        Pending head = pending.peekFirst();
        List<Pending> entry = new ArrayList<>();
        while (!pending.isEmpty() && pending.peekFirst().epoch() == head.epoch()
            && pending.peekFirst().entry() == head.entry()) {
          entry.add(pending.pollFirst());
        }
        draws.addAll(head.draws());
        fill(); // keep the workers busy while this batch is collated and used
        CollatedBatch batch = collate(entry, draws);
        if (batch != null) {
          emptyEntriesInARow = 0;
          return batch;
        }
        if (++emptyEntriesInARow > batchesPerEpoch()) {
          throw new IllegalStateException("no usable training item in a whole epoch (" + badItems() + " bad items)");
        }
      }
    }

    /** Schedules whole plan entries until the window holds enough items. */
    private void fill() {
      while (pending.size() < windowItems) {
        if (nextEntry >= plan.size()) {
          epoch++;
          plan = planner.nextEpoch(epoch);
          nextEntry = 0;
        }
        Entry e = plan.get(nextEntry);
        planner.drawFlips(e);
        TrainingDataset ds = datasets.get(e.dataset());
        boolean mine = ((epoch * plan.size() + nextEntry) % shardCount) == shardRank;
        // another shard's entry: every rank iterates the whole sampler (iterator, mixer and sampler seeds), only
        // the items and their flips are that rank's
        LoaderDraws entryDraws = new LoaderDraws(nextEntry == 0 ? datasets.size() : 0,
            nextEntry == 0 && mixer != null ? mixer.length() : 0, shuffle && e.firstOfDataset(),
            mine ? e.indices().length : 0, ds.transform(), hflipProb);
        if (!mine) {
          otherShards.add(entryDraws);
          nextEntry++;
          continue;
        }
        otherShards.add(entryDraws);
        List<LoaderDraws> draws = List.copyOf(otherShards);
        otherShards.clear();
        for (int i = 0; i < e.indices().length; i++) {
          int index = e.indices()[i];
          boolean flip = e.flips()[i];
          pending.addLast(new Pending(epoch, nextEntry, e.dataset(), index, draws,
              pool.submit(() -> ds.decode(index, flip))));
        }
        nextEntry++;
      }
    }

    private CollatedBatch collate(List<Pending> entry, List<LoaderDraws> draws) {
      List<DecodedItem> good = new ArrayList<>();
      for (Pending p : entry) {
        TrainingDataset ds = datasets.get(p.dataset());
        DecodedItem item;
        try {
          item = p.result().get();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while loading training data", e);
        } catch (CancellationException e) {
          throw new NoSuchElementException("iterator closed");
        } catch (ExecutionException e) {
          if (e.getCause() instanceof Error err) throw err; // out of memory etc. are not bad data
          bad(ds.name() + " item " + p.index() + " skipped: " + e.getCause().getMessage());
          continue;
        }
        if (item.validCount() == 0) {
          bad(ds.name() + " item " + p.index() + " skipped: no valid depth pixel (" + item.source() + ")");
          continue;
        }
        if (!good.isEmpty() && (item.height() != good.get(0).height() || item.width() != good.get(0).width())) {
          bad(ds.name() + " item " + p.index() + " skipped: size " + item.height() + "x" + item.width()
              + " differs from its batch's " + good.get(0).height() + "x" + good.get(0).width() + " ("
              + item.source() + ")");
          continue;
        }
        good.add(item);
      }
      if (good.isEmpty()) return null;
      Pending first = entry.get(0);
      return stack(good, datasets.get(first.dataset()).name(), first.epoch(), first.entry(), draws);
    }

    private void bad(String message) {
      badItems.incrementAndGet();
      LOG.warn("{}", message);
      if (badItemListener != null) badItemListener.accept(message);
    }

    /** Stops the background threads; pending work is cancelled. */
    @Override
    public void close() {
      pool.shutdownNow();
      for (Pending p : pending) p.result().cancel(true);
      pending.clear();
    }
  }

  /** {@code default_collate}: stacks the items along a new batch dimension (tensors made on this thread). */
  static CollatedBatch stack(List<DecodedItem> items, String dataset, long epoch, int entry,
      List<LoaderDraws> draws) {
    Engine.init();
    int b = items.size();
    int h = items.get(0).height();
    int w = items.get(0).width();
    int n = h * w;
    float[] rgb = new float[b * 3 * n];
    float[] depth = new float[b * n];
    float[] metric = new float[b * n];
    float[] normals = new float[b * 3 * n];
    byte[] mask = new byte[b * n];
    List<String> domains = new ArrayList<>();
    List<String> sources = new ArrayList<>();
    for (int i = 0; i < b; i++) {
      DecodedItem it = items.get(i);
      System.arraycopy(it.rgb(), 0, rgb, i * 3 * n, 3 * n);
      System.arraycopy(it.depth(), 0, depth, i * n, n);
      System.arraycopy(it.metric(), 0, metric, i * n, n);
      System.arraycopy(it.normals(), 0, normals, i * 3 * n, 3 * n);
      for (int k = 0; k < n; k++) mask[i * n + k] = (byte) (it.valid()[k] ? 1 : 0);
      domains.add(it.domain());
      sources.add(it.source());
    }
    Tensor d = Tensors.fromFloats(depth, b, 1, h, w);
    Tensor m = Tensors.fromBoolBytes(mask, b, 1, h, w);
    return new CollatedBatch(
        Tensors.fromFloats(rgb, b, 3, h, w),
        d.expand(b, 3, h, w).contiguous(), // (B, 1, H, W) -> (B, 3, H, W): the original stacks three copies
        Tensors.fromFloats(metric, b, 1, h, w),
        Tensors.fromFloats(normals, b, 3, h, w),
        m, List.copyOf(domains), dataset, List.copyOf(sources), epoch, entry, List.copyOf(draws));
  }

  /** Options of {@link TrainingDataLoader}, named after the training command's. */
  public static final class Builder {
    private final List<TrainingDataset> datasets = new ArrayList<>();
    private Path hypersimDir;
    private Path vkittiDir;
    private int batchSize = 2;
    private boolean shuffle = true;
    private long seed = new SecureRandom().nextLong() & 0xffffffffL;
    private double hflipProb = 0.5;
    private int workers = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() / 2));
    private int prefetchBatches = 4;
    private Consumer<String> badItemListener;
    private int shardRank;
    private int shardCount = 1;

    private Builder() {}

    /**
     * Data parallelism: this loader yields shard {@code rank} of {@code count}, the plan entries (batches) whose index
     * in the endless stream is {@code rank} modulo {@code count}, as accelerate's {@code BatchSamplerShard} gives
     * batch i to process {@code i % num_processes}. Every shard plans the same shuffled order (same seed), so within
     * an epoch no sample goes to two ranks and none is left out; a shard decodes its own batches only.
     */
    public Builder shard(int rank, int count) {
      if (count < 1 || rank < 0 || rank >= count) {
        throw new IllegalArgumentException("bad shard " + rank + " of " + count);
      }
      this.shardRank = rank;
      this.shardCount = count;
      return this;
    }

    /** {@code --hypersim-dir}: the processed Hypersim folder (null: not used). */
    public Builder hypersim(Path dir) {
      this.hypersimDir = dir;
      return this;
    }

    /** {@code --vkitti-dir}: the Virtual KITTI 2 folder (null: not used). */
    public Builder vkitti(Path dir) {
      this.vkittiDir = dir;
      return this;
    }

    /** Explicit datasets instead of the folders (one, or Hypersim-like first and VKITTI-like second to mix). */
    public Builder datasets(List<? extends TrainingDataset> list) {
      datasets.clear();
      datasets.addAll(list);
      return this;
    }

    /** {@code --train-batch-size} (default 2). */
    public Builder batchSize(int n) {
      if (n < 1) throw new IllegalArgumentException("batch size must be at least 1, got " + n);
      this.batchSize = n;
      return this;
    }

    /** {@code --no-shuffle} sets false (default true). */
    public Builder shuffle(boolean s) {
      this.shuffle = s;
      return this;
    }

    /** {@code --seed}; numpy's generator takes its low 32 bits. Default: a random seed. */
    public Builder seed(long s) {
      this.seed = s;
      return this;
    }

    /** {@code --hflip-prob} in [0, 1] (default 0.5, the original's). */
    public Builder hflipProb(double p) {
      if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("--hflip-prob must be in [0, 1], got " + p);
      this.hflipProb = p;
      return this;
    }

    /** {@code --dataloader-num-workers}: decoding threads (at least 1; 0 means 1). */
    public Builder workers(int n) {
      if (n < 0) throw new IllegalArgumentException("workers must not be negative, got " + n);
      this.workers = Math.max(1, n);
      return this;
    }

    /** Batches decoded ahead of the consumer (default 4, at least 2). */
    public Builder prefetchBatches(int n) {
      if (n < 1) throw new IllegalArgumentException("prefetch must be at least 1 batch, got " + n);
      this.prefetchBatches = n;
      return this;
    }

    /** Called (on the consumer's thread) with a message for every item left out; items are logged anyway. */
    public Builder onBadItem(Consumer<String> listener) {
      this.badItemListener = listener;
      return this;
    }

    /**
     * Builds the loader, scanning the dataset folders.
     *
     * @throws IllegalArgumentException if no dataset is given, a folder is not a dataset, or a dataset is empty
     */
    public TrainingDataLoader build() {
      if (hypersimDir != null || vkittiDir != null) {
        datasets.clear();
        if (hypersimDir != null) datasets.add(new Hypersim(hypersimDir));
        if (vkittiDir != null) datasets.add(new VirtualKITTI2(vkittiDir));
      }
      if (datasets.size() > 2) throw new IllegalArgumentException("at most two datasets can be mixed");
      return new TrainingDataLoader(this);
    }
  }
}
