package marigold4j.train.data;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.Set;
import marigold4j.image.Png16;
import marigold4j.random.PythonRandom;
import marigold4j.testing.Golden;
import marigold4j.testing.Npz;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The prefetching, mixing loader: order, flips, resumption, bad data, memory. */
class TrainingDataLoaderTest {
  private static final Path TD = Golden.fixtures().resolve("train_data");

  /** A tiny in-memory dataset: item i has rgb[0] = i and rgb[1] = 1 when flipped; listed indices are bad. */
  record Fake(String name, int size, Set<Integer> bad) implements TrainingDataset {
    @Override
    public boolean transform() {
      return true;
    }

    @Override
    public String describe(int index) {
      return name + "-" + index;
    }

    @Override
    public DecodedItem decode(int index, boolean flip) {
      if (bad.contains(index)) throw new IllegalArgumentException(describe(index) + ": corrupt");
      float[] rgb = new float[3 * 2];
      rgb[0] = index;
      rgb[1] = flip ? 1 : 0;
      boolean[] valid = {true, true};
      return new DecodedItem(rgb, new float[2], new float[2], new float[6], valid, 2, 1, 2,
          name.equals("hypersim") ? "indoor" : "outdoor", describe(index), 0f, 1f);
    }
  }

  private record Seen(String dataset, List<String> sources, List<Boolean> flips, long epoch, int index) {}

  private static List<Seen> take(TrainingDataLoader loader, DataPosition from, int n) {
    List<Seen> out = new ArrayList<>();
    try (TrainingDataLoader.BatchIterator it = loader.iterator(from)) {
      for (int i = 0; i < n; i++) {
        try (PointerScope scope = new PointerScope()) {
          CollatedBatch b = it.next();
          float[] rgb = Tensors.toFloats(b.rgb());
          List<Boolean> flips = new ArrayList<>();
          for (int k = 0; k < b.size(); k++) flips.add(rgb[k * 6 + 1] == 1f);
          out.add(new Seen(b.dataset(), b.sources(), flips, b.epoch(), b.indexInEpoch()));
        }
      }
    }
    return out;
  }

  private static TrainingDataLoader.Builder fakes(int n1, int n2) {
    return TrainingDataLoader.builder().datasets(List.of(new Fake("hypersim", n1, Set.of()),
        new Fake("vkitti", n2, Set.of())));
  }

  @Test
  void shardsTakeTheirOwnBatchesOfOneCommonStreamWithTheSameFlips() {
    // one dataset of 9 items, micro-batch 1: rank r of 2 takes stream entries r, r + 2, ...; over two epochs (18
    // entries) that is every item of every epoch exactly once, with the flips the unsharded stream gives it
    Supplier<TrainingDataLoader.Builder> b = () -> TrainingDataLoader.builder()
        .datasets(List.of(new Fake("hypersim", 9, Set.of()))).batchSize(1).seed(5);
    List<Seen> whole = take(b.get().build(), DataPosition.START, 18);
    List<Seen> rank0 = take(b.get().shard(0, 2).build(), DataPosition.START, 9);
    List<Seen> rank1 = take(b.get().shard(1, 2).build(), DataPosition.START, 9);
    for (int i = 0; i < 9; i++) {
      assertThat(rank0.get(i)).isEqualTo(whole.get(2 * i));
      assertThat(rank1.get(i)).isEqualTo(whole.get(2 * i + 1));
    }
    // resuming a shard at its own position continues its own stream
    Seen third = rank1.get(2);
    assertThat(take(b.get().shard(1, 2).build(), new DataPosition(third.epoch(), third.index() + 1), 3))
        .isEqualTo(rank1.subList(3, 6));
  }

  @Test
  void yieldsTheSameBatchesWhateverTheNumberOfWorkers() {
    List<Seen> one = take(fakes(40, 30).batchSize(2).seed(7).workers(1).build(), DataPosition.START, 50);
    List<Seen> four = take(fakes(40, 30).batchSize(2).seed(7).workers(4).prefetchBatches(3).build(),
        DataPosition.START, 50);
    assertThat(four).isEqualTo(one);
    assertThat(take(fakes(40, 30).batchSize(2).seed(8).build(), DataPosition.START, 50)).isNotEqualTo(one);
  }

  @Test
  void mixesBatchesInTheOrderOfTheOriginalsNumpyShuffle() {
    JsonNode c = Golden.readJson(TD.resolve("misc/mixed_dataloader.json")).get(0); // 100 and 50 batches, seed 0
    TrainingDataLoader loader = fakes(100, 50).batchSize(1).seed(c.get("numpy_seed").asLong()).build();
    assertThat(loader.batchesPerEpoch()).isEqualTo(c.get("len").asInt());
    List<String> got = new ArrayList<>();
    for (Seen s : take(loader, DataPosition.START, loader.batchesPerEpoch())) got.add(s.dataset());
    List<String> expected = new ArrayList<>();
    c.get("sequence").forEach(s -> expected.add(s.asText()));
    assertThat(got).isEqualTo(expected);
  }

  @Test
  void readsInOrderWithoutShuffleAndDrawsOneFlipPerItem() {
    TrainingDataLoader loader = TrainingDataLoader.builder().datasets(List.of(new Fake("hypersim", 5, Set.of())))
        .batchSize(2).shuffle(false).seed(3).build();
    List<Seen> seen = take(loader, DataPosition.START, 4);
    assertThat(seen.get(0).sources()).containsExactly("hypersim-0", "hypersim-1");
    assertThat(seen.get(2).sources()).containsExactly("hypersim-4"); // drop_last=False
    assertThat(seen.get(3).sources()).containsExactly("hypersim-0", "hypersim-1");
    assertThat(seen.get(3).epoch()).isEqualTo(1);
    PythonRandom r = new PythonRandom(3);
    for (Seen s : seen) {
      for (boolean f : s.flips()) assertThat(f).isEqualTo(r.random() > 0.5);
    }
  }

  @Test
  void neverOrAlwaysFlipsAtTheProbabilityBounds() {
    for (double p : new double[] {0, 1}) {
      TrainingDataLoader loader = TrainingDataLoader.builder().datasets(List.of(new Fake("hypersim", 6, Set.of())))
          .batchSize(3).seed(1).hflipProb(p).build();
      for (Seen s : take(loader, DataPosition.START, 4)) assertThat(s.flips()).containsOnly(p == 1);
    }
  }

  @Test
  void resumesFromADataPositionAsIfUninterrupted() {
    TrainingDataLoader loader = fakes(9, 7).batchSize(2).seed(11).build();
    List<Seen> all = take(loader, DataPosition.START, 20);
    TrainingDataLoader.BatchIterator probe = loader.iterator();
    DataPosition after7;
    try (probe) {
      CollatedBatch b = null;
      for (int i = 0; i < 8; i++) b = probe.next();
      after7 = b.positionAfter();
    }
    assertThat(take(loader, after7, 12)).isEqualTo(all.subList(8, 20));
  }

  @Test
  void listsTheDrawsTheOriginalsLoadersMakeBeforeEachBatch() {
    // 10 + 5 batches of 2: epochs of 10 Hypersim batches and int(5 * 2/9) = 1 VKITTI batch, mixed
    TrainingDataLoader loader = fakes(20, 10).batchSize(2).seed(3).build();
    int epochLength = loader.batchesPerEpoch();
    assertThat(epochLength).isEqualTo(11);
    List<CollatedBatch> batches = new ArrayList<>();
    List<String> firstSeen = new ArrayList<>();
    try (TrainingDataLoader.BatchIterator it = loader.iterator(); PointerScope scope = new PointerScope()) {
      for (int i = 0; i < 2 * epochLength + 3; i++) batches.add(it.next());
    }
    for (CollatedBatch b : batches) {
      assertThat(b.draws()).hasSize(1);
      LoaderDraws d = b.draws().get(0);
      boolean epochStart = b.indexInEpoch() == 0;
      // first batch of its dataset in its epoch, judged from the batches seen
      boolean firstOfDataset = !firstSeen.contains(b.epoch() + "/" + b.dataset());
      firstSeen.add(b.epoch() + "/" + b.dataset());
      assertThat(d.newIterators()).as("iterators at batch " + b.epoch() + "/" + b.indexInEpoch())
          .isEqualTo(epochStart ? 2 : 0);
      assertThat(d.splitLength()).isEqualTo(epochStart ? epochLength : 0);
      assertThat(d.samplerSeed()).as("sampler seed at " + b.epoch() + "/" + b.indexInEpoch()).isEqualTo(firstOfDataset);
      assertThat(d.items()).isEqualTo(2);
      assertThat(d.transform()).isTrue();
      assertThat(d.hflipProb()).isEqualTo(0.5);
    }
    // resumed mid-epoch: the draws already made before the position are not listed again
    try (TrainingDataLoader.BatchIterator it = loader.iterator(new DataPosition(1, 4));
        PointerScope scope = new PointerScope()) {
      CollatedBatch b = it.next();
      assertThat(b.draws().get(0)).isEqualTo(batches.get(epochLength + 4).draws().get(0));
    }
    // without shuffling the samplers draw nothing
    try (TrainingDataLoader.BatchIterator it = fakes(20, 10).batchSize(2).shuffle(false).build().iterator();
        PointerScope scope = new PointerScope()) {
      assertThat(it.next().draws().get(0).samplerSeed()).isFalse();
    }
  }

  @Test
  void aBatchAfterSkippedEntriesListsTheirDrawsToo() {
    // items 0-3 of the only dataset are bad: its first two batches of 2 are skipped
    TrainingDataLoader loader = TrainingDataLoader.builder()
        .datasets(List.of(new Fake("hypersim", 8, Set.of(0, 1, 2, 3)))).batchSize(2).shuffle(false).seed(1).build();
    try (TrainingDataLoader.BatchIterator it = loader.iterator(); PointerScope scope = new PointerScope()) {
      CollatedBatch b = it.next();
      assertThat(b.indexInEpoch()).isEqualTo(2);
      assertThat(b.draws()).extracting(LoaderDraws::newIterators).containsExactly(1, 0, 0);
      assertThat(b.draws()).extracting(LoaderDraws::items).containsExactly(2, 2, 2);
    }
  }

  @Test
  void leavesOutBadItemsAndSkipsBatchesWithNoneLeft() {
    List<String> reported = new ArrayList<>();
    TrainingDataLoader loader = TrainingDataLoader.builder()
        .datasets(List.of(new Fake("hypersim", 6, Set.of(1, 4, 5)))).batchSize(2).shuffle(false).seed(0)
        .onBadItem(reported::add).build();
    List<Seen> seen = take(loader, DataPosition.START, 3);
    assertThat(seen.get(0).sources()).containsExactly("hypersim-0");
    assertThat(seen.get(1).sources()).containsExactly("hypersim-2", "hypersim-3");
    assertThat(seen.get(2).sources()).containsExactly("hypersim-0"); // entry {4, 5} had nothing usable
    assertThat(seen.get(2).epoch()).isEqualTo(1);
    assertThat(reported).hasSize(3 + 1);
    assertThat(reported.get(0)).contains("hypersim-1: corrupt");
  }

  @Test
  void loadsRealFixtureItemsWithTheOriginalsFlipDraws() {
    // seed 0: Python's first draw 0.844 > 0.5 flips item 0, as in the golden item_0_seed0_flip
    TrainingDataLoader loader = TrainingDataLoader.builder()
        .hypersim(TD.resolve("hypersim/data/hypersim/processed")).batchSize(1).shuffle(false).seed(0).build();
    Npz npz = Npz.load(TD.resolve("hypersim/expected/item_0_seed0_flip.npz"));
    try (TrainingDataLoader.BatchIterator it = loader.iterator(); PointerScope scope = new PointerScope()) {
      CollatedBatch b = it.next();
      assertThat(Tensors.shape(b.rgb())).containsExactly(1, 3, 480, 640);
      assertThat(Tensors.shape(b.normalisedDepth())).containsExactly(1, 3, 480, 640);
      assertThat(Tensors.shape(b.valMask())).containsExactly(1, 1, 480, 640);
      assertThat(b.domains()).containsExactly("indoor");
      TrainingItemsTest.assertExact(Tensors.toFloats(b.rgb()), npz.floats("rgb"), "batch rgb");
      TrainingItemsTest.assertExact(Tensors.toFloats(b.metric()), npz.floats("metric"), "batch metric");
      TrainingItemsTest.assertExact(Tensors.toFloats(b.normals()), npz.floats("normals"), "batch normals");
      float[] depth = Tensors.toFloats(b.normalisedDepth().select(1, 2));
      TrainingItemsTest.assertExact(depth, npz.floats("depth_channel0"), "batch depth channel 2");
    }
  }

  @Test
  void reportsMissingCorruptAndAllInvalidHypersimFiles(@TempDir Path dir) throws IOException {
    Path root = dir.resolve("processed");
    marigold4j.testing.TestFiles.copyTree(TD.resolve("hypersim/data/hypersim/processed"), root);
    Path rgb0 = root.resolve("train/ai_001_001/rgb_cam_00_fr0000.png");
    Path depth1 = root.resolve("train/ai_001_003/depth_plane_cam_01_fr0002.png");
    List<String> reported = new ArrayList<>();
    TrainingDataLoader loader = TrainingDataLoader.builder().hypersim(root).batchSize(2).shuffle(false).seed(0)
        .onBadItem(reported::add).build(); // pairs are listed while the files are still there
    Files.write(rgb0, new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
    Png16.writeValues(depth1, new int[768 * 1024], 1024, 768); // no valid depth pixel
    try (TrainingDataLoader.BatchIterator it = loader.iterator()) {
      assertThat(org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, it::next))
          .hasMessageContaining("no usable training item");
    }
    assertThat(reported).anySatisfy(m -> assertThat(m).contains("rgb_cam_00_fr0000.png"));
    assertThat(reported).anySatisfy(m -> assertThat(m).contains("no valid depth pixel"));
    Files.delete(depth1);
    reported.clear();
    try (TrainingDataLoader.BatchIterator it = loader.iterator()) {
      assertThat(org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, it::next))
          .hasMessageContaining("no usable training item");
    }
    assertThat(reported).anySatisfy(m -> assertThat(m).contains("depth_plane_cam_01_fr0002.png"));
  }

  @Test
  void keepsNativeMemoryFlatUnderAPointerScopeAndBuildsNoGraph() {
    TrainingDataLoader loader = fakes(20, 20).batchSize(2).seed(5).build();
    try (TrainingDataLoader.BatchIterator it = loader.iterator(); NoGradGuard g = new NoGradGuard()) {
      for (int i = 0; i < 5; i++) {
        try (PointerScope scope = new PointerScope()) {
          it.next();
        }
      }
      long before = Pointer.totalCount();
      for (int i = 0; i < 50; i++) {
        try (PointerScope scope = new PointerScope()) {
          CollatedBatch b = it.next();
          assertThat(b.rgb().requires_grad()).isFalse();
        }
      }
      assertThat(Pointer.totalCount()).isLessThanOrEqualTo(before + 2);
    }
  }
}
