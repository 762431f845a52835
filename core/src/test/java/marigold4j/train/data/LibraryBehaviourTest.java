package marigold4j.train.data;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import marigold4j.random.NumpyRandom;
import marigold4j.testing.Golden;
import marigold4j.testing.Npz;
import org.junit.jupiter.api.Test;

/**
 * Golden: {@code testdata/train_data/unit_library} (Pillow 9.4 resizes, torch.quantile, torch nearest upsampling) and
 * {@code train_data/misc} (MixedDataLoader, Marigold's NearFarMetricNormalizer). All comparisons are exact.
 */
class LibraryBehaviourTest {
  private static final Path TD = Golden.fixtures().resolve("train_data");
  private static final JsonNode LIB = Golden.readJson(TD.resolve("unit_library/library_units.json"));
  private static final Npz LIB_NPZ = Npz.load(TD.resolve("unit_library/library_units.npz"));

  @Test
  void resizesLikePillowBilinear() {
    for (JsonNode c : LIB.get("pil_resize")) {
      if (c.get("index").isNull()) continue;
      int k = c.get("index").asInt();
      int inH = c.get("in_hw").get(0).asInt();
      int inW = c.get("in_hw").get(1).asInt();
      int outH = c.get("out_hw").get(0).asInt();
      int outW = c.get("out_hw").get(1).asInt();
      byte[] got = PilResampling.bilinear(LIB_NPZ.bytes("r" + k + "_in"), inW, inH, 3, outW, outH);
      assertThat(got).as("r" + k + " " + inH + "x" + inW + " -> " + outH + "x" + outW)
          .isEqualTo(LIB_NPZ.bytes("r" + k + "_bilinear"));
    }
  }

  @Test
  void picksPillowNearestSourcesByAccumulatingTheCoordinate() {
    for (JsonNode c : LIB.get("pil_resize")) {
      int[] rows = PilResampling.nearestIndices(c.get("in_hw").get(0).asInt(), c.get("out_hw").get(0).asInt());
      int[] cols = PilResampling.nearestIndices(c.get("in_hw").get(1).asInt(), c.get("out_hw").get(1).asInt());
      assertThat(rows).isEqualTo(ints(c.get("nearest_src_rows")));
      assertThat(cols).isEqualTo(ints(c.get("nearest_src_cols")));
    }
    assertThat(PilResampling.nearestIndices(1024, 640)[7]).as("not floor((i + 0.5) * 1.6) = 12").isEqualTo(11);
  }

  @Test
  void computesTorchQuantilesBitExactly() {
    for (JsonNode c : LIB.get("quantile")) {
      float[] x = LIB_NPZ.floats("q" + c.get("index").asInt() + "_x");
      assertThat(TorchQuantile.quantile(x, 0.02)).as("q0.02 n=" + x.length).isEqualTo((float) c.get("q0.02").asDouble());
      assertThat(TorchQuantile.quantile(x, 0.98)).as("q0.98 n=" + x.length).isEqualTo((float) c.get("q0.98").asDouble());
    }
  }

  @Test
  void upsamplesNearestFromTheScaleFactorLikeTorch() {
    for (JsonNode c : LIB.get("torch_nearest_1d")) {
      assertThat(TorchNearest.sourceIndices(c.get("in_len").asInt(), c.get("scale_factor").asDouble()))
          .as("in_len " + c.get("in_len")).isEqualTo(ints(c.get("src_index")));
    }
  }

  @Test
  void mixesNineHypersimBatchesToOneVkittiBatchInNumpysShuffledOrder() {
    for (JsonNode c : Golden.readJson(TD.resolve("misc/mixed_dataloader.json"))) {
      MixedDataLoader m = new MixedDataLoader(c.get("len_loader1").asInt(), c.get("len_loader2").asInt(),
          c.get("split1").asInt(), c.get("split2").asInt());
      assertThat(m.fraction1()).isEqualTo(c.get("effective_fraction1").asDouble());
      assertThat(m.fraction2()).isEqualTo(c.get("effective_fraction2").asDouble());
      assertThat(m.length()).isEqualTo(c.get("len").asInt());
      assertThat(m.count1()).isEqualTo(c.get("n_loader1").asInt());
      assertThat(m.count2()).isEqualTo(c.get("n_loader2").asInt());
      List<String> seq = new ArrayList<>();
      for (boolean first : m.createSplit(new NumpyRandom(c.get("numpy_seed").asLong()))) {
        seq.add(first ? "hypersim" : "vkitti");
      }
      List<String> expected = new ArrayList<>();
      c.get("sequence").forEach(s -> expected.add(s.asText()));
      assertThat(seq).as("numpy seed " + c.get("numpy_seed")).isEqualTo(expected);
    }
  }

  @Test
  void normalisesMetricDepthByNearAndFarQuantiles() {
    Npz npz = Npz.load(TD.resolve("misc/near_far_metric_normalizer.npz"));
    for (JsonNode c : Golden.readJson(TD.resolve("misc/near_far_metric_normalizer.json"))) {
      int k = c.get("index").asInt();
      NearFarMetricNormalizer norm = new NearFarMetricNormalizer(-1, 1, 0.02, c.get("clip").asBoolean());
      int[] m = npz.ints("valid_mask_" + k);
      boolean[] valid = new boolean[m.length];
      for (int i = 0; i < m.length; i++) valid[i] = m[i] != 0;
      float[] out = norm.normalize(npz.floats("depth_" + k), valid);
      TrainingItemsTest.assertExact(out, npz.floats("normalized_" + k), "normalized_" + k);
      TrainingItemsTest.assertExact(norm.denormalize(out), npz.floats("denormalized_" + k), "denormalized_" + k);
    }
  }

  private static int[] ints(JsonNode arr) {
    int[] out = new int[arr.size()];
    for (int i = 0; i < out.length; i++) out[i] = arr.get(i).asInt();
    return out;
  }
}
