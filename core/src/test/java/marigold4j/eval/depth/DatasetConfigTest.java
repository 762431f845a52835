package marigold4j.eval.depth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import marigold4j.image.Npy;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;

/** The original's dataset YAML, and the {@code .npy} files the inference step writes. */
class DatasetConfigTest {
  private static DatasetConfig parse(String yaml) throws IOException {
    return DatasetConfig.parse(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)), "test.yaml");
  }

  @Test
  void readsTheFieldsTheDatasetClassesTake() throws IOException {
    DatasetConfig c = parse("name: kitti\ndisp_name: k\ndir: kitti/x.tar\nfilenames: a/list.txt # add\n"
        + "kitti_bm_crop: false\nvalid_mask_crop: garg\nextra_key: 3\n");
    assertThat(c.kind()).isEqualTo(DatasetKind.KITTI);
    assertThat(c.filenames()).isEqualTo("a/list.txt");
    assertThat(c.kittiBmCrop()).isFalse();
    assertThat(c.validMaskCrop()).isEqualTo("garg");
    assertThat(c.minDepthText()).isEqualTo("1e-05");
    assertThat(parse("name: kitti\ndisp_name: k\ndir: d\nfilenames: f\nkitti_bm_crop: true\nvalid_mask_crop: null\n")
        .validMaskCrop()).isNull();
  }

  @Test
  void depthRangeOverridesPrintAsPythonWould() throws IOException {
    DatasetConfig c = parse("name: scannet\ndisp_name: s\ndir: d\nfilenames: f\nmin_depth: 0.5\nmax_depth: 20\n");
    assertThat(c.minDepth()).isEqualTo(0.5);
    assertThat(c.minDepthText()).isEqualTo("0.5");
    assertThat(c.maxDepthText()).isEqualTo("20");
    assertThat(parse("name: scannet\ndisp_name: s\ndir: d\nfilenames: f\nmax_depth: 10.0\n").maxDepthText())
        .isEqualTo("10.0");
  }

  @Test
  void anUnknownNameOrABadDepthNamesTheConfigFile() {
    // found by DatasetFuzzTest: these two messages did not say which config file was wrong
    assertThatThrownBy(() -> parse("name: hypersim\ndisp_name: h\ndir: d\nfilenames: f\n"))
        .hasMessageContaining("dataset config test.yaml: unknown dataset name 'hypersim'");
    assertThatThrownBy(() -> parse("name: eth3d\ndisp_name: e\ndir: d\nfilenames: f\nmax_depth: deep\n"))
        .hasMessageContaining("dataset config test.yaml: max_depth is not a number: 'deep'");
  }

  @Test
  void missingRequiredKeysAreNamed() {
    assertThatThrownBy(() -> parse("name: nyu_v2\ndisp_name: n\ndir: d\nfilenames: f\n"))
        .hasMessageContaining("test.yaml has no 'eigen_valid_mask'");
    assertThatThrownBy(() -> parse("name: kitti\ndisp_name: k\ndir: d\nfilenames: f\nkitti_bm_crop: true\n"))
        .hasMessageContaining("no 'valid_mask_crop'");
    assertThatThrownBy(() -> parse("name: kitti\ndisp_name: k\ndir: d\nfilenames: f\nkitti_bm_crop: true\n"
        + "valid_mask_crop: bts\n")).hasMessageContaining("unknown valid_mask_crop 'bts'");
    assertThatThrownBy(() -> parse("name: hypersim\ndisp_name: h\ndir: d\nfilenames: f\n"))
        .hasMessageContaining("unknown dataset name 'hypersim'");
    assertThatThrownBy(() -> parse("name: eth3d\ndir: d\nfilenames: f\n")).hasMessageContaining("'disp_name'");
  }

  @Test
  void writesPredictionsByteForByteAsNpSave() throws IOException {
    Path file = Golden.fixtures().resolve("eval/depth/scannet_mini/prediction/scene0120_02/color/pred_001900.npy");
    Npy.Array a = Npy.read(file);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Npy.write(out, Npy.Array.ofFloats(a.toFloats(), a.shape()));
    assertThat(out.toByteArray()).isEqualTo(Files.readAllBytes(file));
  }
}
