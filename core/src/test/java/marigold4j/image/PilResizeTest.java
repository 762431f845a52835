package marigold4j.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Pillow 9.4 resizing (GeoWizard's input path) and OpenCV INTER_NEAREST against testdata/utils/resize.*. */
class PilResizeTest {
  private static Golden golden;

  @BeforeAll
  static void load() {
    golden = Golden.load("utils", "resize");
  }

  private static String imageFile(String source) {
    return source.split(" ")[0];
  }

  @TestFactory
  List<DynamicTest> reproducesPillowBicubicOn8BitImagesExactly() {
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode c : golden.json().get("pil_cases")) {
      if (!c.has("source_image")) continue;
      String key = c.get("key").asText();
      tests.add(DynamicTest.dynamicTest(key, () -> {
        PilImage src = ImageInput.read(Golden.fixtures().resolve("images").resolve(imageFile(
            c.get("source_image").asText())));
        assertThat(src.mode().pilName()).isEqualTo(c.get("source_mode").asText());
        int w = c.get("size_wh").get(0).asInt();
        int h = c.get("size_wh").get(1).asInt();
        PilImage out = PilResize.resize(src, w, h);
        Tensor actual = PilImage.hwcToTensor(out.pixels(), h, w, out.mode().bands());
        if (out.mode().bands() == 1) actual = actual.squeeze(2);
        if (c.get("stored").asText().startsWith("every 8th")) {
          actual = actual.slice(0, new org.bytedeco.pytorch.LongOptional(0), new org.bytedeco.pytorch.LongOptional(h),
              8).slice(1, new org.bytedeco.pytorch.LongOptional(0), new org.bytedeco.pytorch.LongOptional(w), 8);
        }
        Tensor expected = golden.tensor(key);
        assertThat(Tensors.shape(actual)).isEqualTo(Tensors.shape(expected));
        long mismatched = actual.ne(expected).sum().item_long();
        assertThat(mismatched).as(key + ": pixels differing from Pillow (max diff "
            + Tensors.maxAbsDiff(actual, expected) + ")").isZero();
      }));
    }
    return tests;
  }

  @TestFactory
  List<DynamicTest> reproducesPillowBicubicOnFloatMaps() {
    List<DynamicTest> tests = new ArrayList<>();
    Tensor in = golden.tensor("pil.f_in");
    for (JsonNode c : golden.json().get("pil_cases")) {
      if (c.has("source_image")) continue;
      String key = c.get("key").asText();
      tests.add(DynamicTest.dynamicTest(key, () -> {
        Tensor actual = PilResize.resizeFloat(in, c.get("size_wh").get(0).asInt(), c.get("size_wh").get(1).asInt());
        // same double-precision arithmetic in the same order as Pillow: bit-identical float32 expected
        Golden.assertClose(actual, golden.tensor(key), 0.0, key);
      }));
    }
    return tests;
  }

  @TestFactory
  List<DynamicTest> reproducesOpenCvInterNearest() {
    List<DynamicTest> tests = new ArrayList<>();
    Tensor in = golden.tensor("cv2.in_hwc");
    for (JsonNode c : golden.json().get("cv2_cases")) {
      String key = c.get("key").asText();
      tests.add(DynamicTest.dynamicTest(key, () -> {
        Tensor actual = Cv2Nearest.resize(in, c.get("size_wh").get(0).asInt(), c.get("size_wh").get(1).asInt());
        Golden.assertClose(actual, golden.tensor(key), 0.0, key);
      }));
    }
    return tests;
  }

  @Test
  void geowizardPipelineInputIsPillowResizedPhoto() {
    // geowizard_object_res64 stores rgb_resized.0 (uint8 HWC): PIL bicubic 128x96 -> 64x48 before convert("RGB")
    Golden p = Golden.load("pipelines", "geowizard_object_res64");
    PilImage src = ImageInput.read(Golden.fixtures().resolve(p.json().get("input_image").asText()));
    PilImage out = PilResize.resize(src, 64, 48);
    Tensor actual = PilImage.hwcToTensor(out.rgbPixels(), 48, 64, 3);
    assertThat(Tensors.maxAbsDiff(actual, p.tensor("rgb_resized.0"))).isZero();
  }

  @Test
  void paletteImagesAreResizedNearestNeighbour() {
    byte[] px = new byte[4 * 2 * 3];
    for (int i = 0; i < 8; i++) px[3 * i] = (byte) (i * 30); // red ramp, 4x2
    PilImage p = new PilImage(PilImage.Mode.P, 4, 2, px);
    PilImage out = PilResize.resize(p, 2, 1);
    // centres of 2x2 blocks: source (1, 1) and (3, 1) -> indices 5 and 7
    assertThat(out.sample(0, 0, 0)).isEqualTo(150);
    assertThat(out.sample(1, 0, 0)).isEqualTo(210);
  }
}
