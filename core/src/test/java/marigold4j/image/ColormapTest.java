package marigold4j.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** matplotlib 3.6 "Spectral" and the seed's colorize, against testdata/utils/colormap_spectral.*. */
class ColormapTest {
  private static Golden golden;

  @BeforeAll
  static void load() {
    golden = Golden.load("utils", "colormap_spectral");
  }

  @Test
  void spectralLutGeneratedFromSegmentDataEqualsMatplotlibsBitForBit() {
    double[][] lut = Colormap.spectral().lut();
    Tensor expected = golden.tensor("lut_rgba_f64").contiguous();
    double[] ref = new double[256 * 4];
    expected.data_ptr_double().get(ref);
    for (int i = 0; i < 256; i++) {
      for (int c = 0; c < 4; c++) {
        assertThat(lut[i][c]).as("lut[%d][%d]", i, c).isEqualTo(ref[4 * i + c]);
      }
    }
  }

  @Test
  void colorizesEveryFixtureDepthLikeThePipelines() {
    Tensor depth = golden.tensor("depth_f32"); // includes values below 0, above 1, exact bin edges and 1.0
    Tensor actual = Colormap.spectral().colorize(depth);
    Tensor expected = golden.tensor("colored_u8");
    assertThat(Tensors.shape(actual)).isEqualTo(Tensors.shape(expected));
    assertThat(actual.ne(expected).sum().item_long()).isZero();
  }

  @Test
  void indexIsComputedInFloat32AndOneMapsToTheLastEntry() {
    assertThat(Colormap.index(1.0f)).isEqualTo(255);
    assertThat(Colormap.index(0.0f)).isZero();
    assertThat(Colormap.index(Math.nextDown(1.0f))).isEqualTo(255);
    assertThat(Colormap.index(0.5f)).isEqualTo(128);
    assertThat(Colormap.index(Math.nextDown(0.5f))).isEqualTo(127);
  }

  @Test
  void nanBecomesBlack() {
    Tensor d = Tensors.fromFloats(new float[] {Float.NaN, 0.5f}, 2);
    Tensor c = Colormap.spectral().colorize(d);
    assertThat(c.select(1, 0).sum().item_long()).isZero();
    assertThat(c.select(1, 1).sum().item_long()).isPositive();
  }

  @Test
  void reproducesTheColoredPngThatRunPyWroteForItsDepthNpy() {
    // marigold_depth_defaults CLI run: depth_npy and depth_colored of the same image and the same run
    Path io = Golden.fixtures().resolve("io");
    Tensor depth = Npy.readTensor(io.resolve("marigold_depth_synthetic_gray_64x48_pred.npy"));
    Tensor colored = Colormap.spectral().colorize(depth); // (3, H, W)
    Tensor png = ImageInput.readRgb(io.resolve("marigold_depth_synthetic_gray_64x48_pred_colored.png"));
    assertThat(Tensors.dtype(png)).isEqualTo(torch.ScalarType.Byte);
    assertThat(colored.ne(png).sum().item_long()).isZero();
  }
}
