package marigold4j.train.data;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import marigold4j.image.ImageInput;
import marigold4j.random.PythonRandom;
import marigold4j.testing.Golden;
import marigold4j.testing.Npz;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;

/**
 * Golden: {@code testdata/train_data/{hypersim,vkitti}} (items of the original {@code Hypersim} /
 * {@code VirtualKITTI2} datasets with {@code transform=True} as in training, and one VKITTI item without transform).
 * The README's recipes were re-derived bit-exactly from the inputs, so every float32 output is compared with
 * tolerance 0, the masks exactly.
 */
class TrainingItemsTest {
  private static final Path TD = Golden.fixtures().resolve("train_data");

  @Test
  void reproducesHypersimItemsWithAndWithoutFlip() {
    Path dir = TD.resolve("hypersim");
    JsonNode json = Golden.readJson(dir.resolve("expected/items.json"));
    Hypersim ds = new Hypersim(dir.resolve("data/hypersim/processed"));
    assertThat(ds.size()).as("pairs (a row whose files are missing is skipped)").isEqualTo(json.get("len").asInt());
    for (int i = 0; i < ds.size(); i++) {
      JsonNode p = json.get("pairs").get(i);
      assertThat(ds.pairs().get(i).rgb()).isEqualTo(dir.resolve(p.get("rgb_path").asText()));
      assertThat(ds.pairs().get(i).normal()).isEqualTo(dir.resolve(p.get("normal_path").asText()));
    }
    for (JsonNode it : json.get("items")) {
      boolean flip = flipOf(it);
      Npz npz = Npz.load(dir.resolve(it.get("file").asText()));
      DecodedItem item = ds.decode(it.get("index").asInt(), flip);
      assertItem(item, npz, it, it.get("file").asText());
      assertThat(item.depthMin()).isEqualTo((float) it.get("quantile_min_max_of_metric").get(0).asDouble());
      assertThat(item.depthMax()).isEqualTo((float) it.get("quantile_min_max_of_metric").get(1).asDouble());
    }
  }

  @Test
  void orientsHypersimNormalsTowardsTheCamera() {
    Path dir = TD.resolve("hypersim");
    Hypersim ds = new Hypersim(dir.resolve("data/hypersim/processed"));
    Npz npz = Npz.load(dir.resolve("expected/item_0_seed0_flip.npz"));
    Hypersim.Pair p = ds.pairs().get(0);
    var depthPng = marigold4j.prep.PngIo.read(p.depth());
    float[] depth = new float[depthPng.values().length];
    for (int i = 0; i < depth.length; i++) depth[i] = (float) (depthPng.values()[i] / 1000.0);
    byte[] aligned = HypersimNormals.alignToCamera(ImageInput.read(p.normal()).rgbPixels(), depth, 1024, 768);
    assertThat(aligned).isEqualTo(npz.bytes("aligned_normal_uint8_before_transform"));
  }

  @Test
  void reproducesVirtualKittiItemsCroppedAndFlipped() {
    Path dir = TD.resolve("vkitti");
    JsonNode json = Golden.readJson(dir.resolve("expected/items.json"));
    VirtualKITTI2 withTransform = new VirtualKITTI2(dir.resolve("data/virtual_kitti_2"), true);
    VirtualKITTI2 without = new VirtualKITTI2(dir.resolve("data/virtual_kitti_2"), false);
    assertPairs(withTransform, json.get("pairs_transform_True"), dir);
    assertPairs(without, json.get("pairs_transform_None"), dir);
    for (JsonNode it : json.get("items")) {
      VirtualKITTI2 ds = it.get("transform").asBoolean(false) ? withTransform : without;
      int index = -1;
      for (int i = 0; i < ds.size(); i++) {
        if (ds.pairs().get(i).rgb().equals(dir.resolve(it.get("rgb_path").asText()))) index = i;
      }
      Npz npz = Npz.load(dir.resolve(it.get("file").asText()));
      VirtualKITTI2.Pair p = ds.pairs().get(index);
      var rgb = ImageInput.read(p.rgb());
      assertThat(rgb.rgbPixels()).as("JPEG decode (javax.imageio vs PIL/libjpeg)")
          .isEqualTo(npz.bytes("rgb_decoded_uint8"));
      assertThat(ImageInput.read(p.normal()).rgbPixels()).as("16-bit normal PNG, high bytes")
          .isEqualTo(npz.bytes("normal_decoded_uint8"));
      assertItem(ds.decode(index, flipOf(it)), npz, it, it.get("file").asText());
    }
  }

  @Test
  void makesTensorsOfTheItemsShapes() {
    Path dir = TD.resolve("vkitti");
    VirtualKITTI2 ds = new VirtualKITTI2(dir.resolve("data/virtual_kitti_2"), true);
    try (PointerScope scope = new PointerScope()) {
      TrainingItem item = ds.item(0, false);
      assertThat(Tensors.shape(item.rgb())).containsExactly(3, 352, 1216);
      assertThat(Tensors.shape(item.depth())).containsExactly(3, 352, 1216);
      assertThat(Tensors.shape(item.metric())).containsExactly(1, 352, 1216);
      assertThat(Tensors.shape(item.normals())).containsExactly(3, 352, 1216);
      assertThat(Tensors.shape(item.valMask())).containsExactly(1, 352, 1216);
      assertThat(Tensors.dtype(item.valMask())).isEqualTo(org.bytedeco.pytorch.global.torch.ScalarType.Bool);
      assertThat(item.domain()).isEqualTo("outdoor");
      assertThat(item.depth().select(0, 2).equal(item.depth().select(0, 0))).isTrue();
    }
  }

  /** The recorded flip equals the first draw of Python's random after seeding, compared with 0.5. */
  static boolean flipOf(JsonNode it) {
    double first = new PythonRandom(it.get("python_random_seed").asLong()).random();
    assertThat(first).isEqualTo(it.get("first_random").asDouble());
    assertThat(first > 0.5).isEqualTo(it.get("flip").asBoolean());
    return it.get("flip").asBoolean();
  }

  private static void assertPairs(VirtualKITTI2 ds, JsonNode pairs, Path dir) {
    assertThat(ds.size()).isEqualTo(pairs.size());
    for (int i = 0; i < pairs.size(); i++) {
      assertThat(ds.pairs().get(i).rgb()).isEqualTo(dir.resolve(pairs.get(i).get(0).asText()));
      assertThat(ds.pairs().get(i).depth()).isEqualTo(dir.resolve(pairs.get(i).get(1).asText()));
      assertThat(ds.pairs().get(i).normal()).isEqualTo(dir.resolve(pairs.get(i).get(2).asText()));
    }
  }

  static void assertItem(DecodedItem item, Npz npz, JsonNode meta, String what) {
    long[] shape = npz.shape("rgb");
    assertThat(new long[] {3, item.height(), item.width()}).as(what + " shape").isEqualTo(shape);
    assertThat(item.domain()).isEqualTo(meta.get("domain").asText());
    assertThat(item.validCount()).as(what + " n_valid").isEqualTo(meta.get("n_valid").asInt());
    assertExact(item.rgb(), npz.floats("rgb"), what + " rgb");
    assertExact(item.depth(), npz.floats("depth_channel0"), what + " depth");
    assertExact(item.metric(), npz.floats("metric"), what + " metric");
    assertExact(item.normals(), npz.floats("normals"), what + " normals");
    int[] mask = npz.ints("val_mask");
    int off = 0;
    for (int i = 0; i < mask.length; i++) if ((mask[i] != 0) != item.valid()[i]) off++;
    assertThat(off).as(what + " val_mask mismatches").isZero();
  }

  static void assertExact(float[] got, float[] expected, String what) {
    assertThat(got).as(what + " size").hasSameSizeAs(expected);
    int off = 0;
    double worst = 0;
    int first = -1;
    for (int i = 0; i < got.length; i++) {
      if (Float.floatToIntBits(got[i]) != Float.floatToIntBits(expected[i])) {
        off++;
        worst = Math.max(worst, Math.abs(got[i] - expected[i]));
        if (first < 0) first = i;
      }
    }
    System.out.printf("%s: %d of %d values differ (max |diff| %.3g)%n", what, off, got.length, worst);
    assertThat(off).as(what + ": values differing (first at flat index " + first + ", max |diff| " + worst + ")")
        .isZero();
  }
}
