package marigold4j.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import marigold4j.testing.Golden;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** 16-bit depth PNGs and 8-bit RGB PNGs. */
class PngTest {
  @TempDir Path tmp;
  private static final Path IO = Golden.fixtures().resolve("io");

  @BeforeAll
  static void init() {
    Engine.init();
  }

  @Test
  void reads16BitDepthPngAsTruncatedDepthTimes65535() {
    // run.py wrote both files from the same float32 depth: png = (depth * 65535.0).astype(uint16)
    Tensor depth = Npy.readTensor(IO.resolve("marigold_depth_synthetic_gray_64x48_pred.npy"));
    Tensor png = Png16.read(IO.resolve("marigold_depth_synthetic_gray_64x48_pred_bw16.png"));
    assertThat(Tensors.shape(png)).containsExactly(48, 64);
    Tensor expected = depth.mul(new org.bytedeco.pytorch.Scalar(65535.0f)).floor().to(torch.ScalarType.Int);
    assertThat(png.ne(expected).sum().item_long()).isZero();
  }

  @Test
  void writes16BitDepthPngThatReadsBackAsRunPysValues() {
    Tensor depth = Npy.readTensor(IO.resolve("marigold_depth_synthetic_gray_64x48_pred.npy"));
    Path out = tmp.resolve("d/bw.png");
    Png16.write(out, depth);
    Tensor back = Png16.read(out);
    Tensor reference = Png16.read(IO.resolve("marigold_depth_synthetic_gray_64x48_pred_bw16.png"));
    assertThat(back.ne(reference).sum().item_long()).isZero();
  }

  @Test
  void truncatesInFloat32NotDouble() {
    // 0.99999994f * 65535 = 65534.996 in float32 -> 65534; the value just below a multiple is not rounded up
    float v = Math.nextDown(1.0f);
    Path out = tmp.resolve("edge.png");
    Png16.write(out, Tensors.fromFloats(new float[] {0f, v, 1f, 0.5f}, 2, 2));
    Tensor back = Png16.read(out);
    assertThat(Tensors.toLongs(back)).containsExactly(0, (long) (v * 65535f), 65535, 32767);
  }

  @Test
  void refusesDepthOutsideTheUnitInterval() {
    Tensor bad = Tensors.fromFloats(new float[] {0.5f, 1.5f}, 1, 2);
    assertThatThrownBy(() -> Png16.write(tmp.resolve("bad.png"), bad)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1.5");
    assertThat(Files.exists(tmp.resolve("bad.png"))).isFalse();
  }

  @Test
  void rgbPngRoundTripsExactly() {
    Tensor rgb = ImageInput.readRgb(Golden.fixtures().resolve("images/photo_coco_cats_crop_101x75.png"));
    Path out = tmp.resolve("rgb.png");
    RgbPng.writeChw(out, rgb);
    PilImage back = ImageInput.read(out);
    assertThat(back.mode()).isEqualTo(PilImage.Mode.RGB);
    assertThat(back.toRgbChw().ne(rgb).sum().item_long()).isZero();
  }

  @Test
  void reading16BitPngRejects8BitFilesNamingThem() {
    Path rgb = Golden.fixtures().resolve("images/synthetic_gray_64x48.png");
    assertThatThrownBy(() -> Png16.read(rgb)).isInstanceOf(ImageReadException.class)
        .hasMessageContaining("synthetic_gray_64x48.png").hasMessageContaining("16-bit");
  }
}
