package marigold4j.eval.depth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import marigold4j.image.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Loading, masks and per-sample intermediates against the original's dumps ({@code expected/intermediates}). */
class EvalDatasetTest {
  private static final Logger LOG = LoggerFactory.getLogger(EvalDatasetTest.class);

  @TempDir Path tmp;

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"nyu_full", "kitti_full", "eth3d_full", "scannet_mini", "diode_mini",
      "nyu_mini_disparity", "kitti_mini_garg", "eth3d_mini_maxres", "scannet_mini_noalign"})
  void decodesGroundTruthAndMasksExactlyAsTheOriginal(String name) throws IOException {
    JsonNode caseJson = DepthCases.caseJson(name);
    JsonNode samples = DepthCases.samplesJson(name);
    Path caseDir = DepthCases.unpack(name, tmp);
    Map<String, Npy.Array> dump = Npy.readNpz(
        DepthCases.source(name).resolve("expected/intermediates/sample_000.npz"));
    try (EvalDataset ds = DepthCases.open(caseDir, caseJson)) {
      List<String> kept = new ArrayList<>();
      for (int i = 0; i < ds.size(); i++) kept.add(String.join(" ", ds.fields(i)));
      List<String> want = new ArrayList<>();
      for (JsonNode line : samples.get("filenames_after_filtering")) {
        List<String> f = new ArrayList<>();
        line.forEach(x -> f.add(x.asText()));
        want.add(String.join(" ", f));
      }
      assertThat(kept).isEqualTo(want);

      EvalDataset.DepthGroundTruth gt = ds.groundTruth(0);
      assertSame(gt.valid(), dump.get("valid_mask_raw").toBooleans(), "valid_mask_raw");
      if (dump.containsKey("depth_raw_linear")) {
        assertSame(gt.depth(), dump.get("depth_raw_linear").toFloats(), "depth_raw_linear");
      }
      for (JsonNode s : samples.get("samples")) {
        EvalDataset.DepthGroundTruth g = ds.groundTruth(s.get("index").asInt());
        assertThat(new int[] {g.height(), g.width()}).as("GT shape").containsExactly(
            s.get("gt_shape").get(0).asInt(), s.get("gt_shape").get(1).asInt());
        assertThat(g.validCount()).as("valid pixels of %s", s.get("rgb_relative_path").asText())
            .isEqualTo(s.get("n_valid").asLong());
        assertThat(ds.predictionPath(s.get("index").asInt())).isEqualTo(s.get("pred_name").asText());
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"nyu_full", "kitti_full", "eth3d_full", "scannet_mini", "diode_mini",
      "nyu_mini_disparity", "kitti_mini_garg", "eth3d_mini_maxres", "scannet_mini_noalign"})
  void alignsWithTheOriginalsScaleShiftAndFinalPrediction(String name) throws IOException {
    JsonNode caseJson = DepthCases.caseJson(name);
    JsonNode samples = DepthCases.samplesJson(name);
    Path caseDir = DepthCases.unpack(name, tmp);
    Map<String, Npy.Array> dump = Npy.readNpz(
        DepthCases.source(name).resolve("expected/intermediates/sample_000.npz"));
    DepthEvaluator.Options options = DepthCases.options(caseJson);
    double worstF64 = 0;
    try (EvalDataset ds = DepthCases.open(caseDir, caseJson)) {
      for (JsonNode s : samples.get("samples")) {
        int i = s.get("index").asInt();
        EvalDataset.DepthGroundTruth gt = ds.groundTruth(i);
        float[] pred = DepthEvaluator.readPrediction(caseDir.resolve("prediction").resolve(ds.predictionPath(i)), gt);
        if (i == 0 && dump.containsKey("pred_raw")) assertThat(pred).containsExactly(dump.get("pred_raw").toFloats());
        DepthEvaluator.SampleResult r = DepthEvaluator.evaluateSample(gt, pred, ds.predictionPath(i), ds.config(),
            options);
        if (s.has("scale")) {
          assertThat(r.fit().scale()).as("scale").isEqualTo((float) s.get("scale").asDouble());
          assertThat(r.fit().shift()).as("shift").isEqualTo((float) s.get("shift").asDouble());
          assertThat(r.fit().pixels()).as("LS pixels").isEqualTo(s.get("n_ls_pixels").asLong());
          if (s.has("scale_f64")) {
            double ds64 = Math.abs(r.fit().scaleF64() - s.get("scale_f64").asDouble()) / Math.abs(r.fit().scaleF64());
            double dt64 = Math.abs(r.fit().shiftF64() - s.get("shift_f64").asDouble()) / Math.abs(r.fit().shiftF64());
            // the float64 solutions agree far below float32 resolution (numpy solves by SVD, this by normal equations)
            assertThat(Math.max(ds64, dt64)).isLessThan(1e-9);
            worstF64 = Math.max(worstF64, Math.max(ds64, dt64));
          }
        } else {
          assertThat(r.fit()).isNull();
        }
        if (s.has("ls_downsampled_shape")) {
          assertThat(r.fit().fitWidth()).isEqualTo(s.get("ls_downsampled_shape").get(2).asInt());
        }
        JsonNode want = s.get("metrics");
        for (int k = 0; k < DepthMetrics.NAMES.size(); k++) {
          assertThat(r.metrics()[k]).as(DepthMetrics.NAMES.get(k))
              .isEqualTo(want.get(DepthMetrics.NAMES.get(k)).asDouble());
        }
      }
      if (dump.containsKey("ls_downsampled_column_index")) {
        EvalDataset.DepthGroundTruth gt = ds.groundTruth(0);
        float[] cols = dump.get("ls_downsampled_column_index").toFloats();
        int[] got = LeastSquaresAlignment.fitColumns(gt.height(), gt.width(), options.alignmentMaxRes());
        assertThat(got).hasSize(cols.length);
        for (int j = 0; j < cols.length; j++) assertThat(got[j]).isEqualTo((int) cols[j]);
      }
    }
    LOG.info("{}: max relative deviation of the float64 LS solution from numpy's {}", name, worstF64);
  }

  @Test
  void reproducesTheFinalClippedPredictionOfTheMiniCases() throws IOException {
    for (String name : DepthCases.MINI) {
      JsonNode caseJson = DepthCases.caseJson(name);
      Path caseDir = DepthCases.unpack(name, tmp);
      Map<String, Npy.Array> dump = Npy.readNpz(
          DepthCases.source(name).resolve("expected/intermediates/sample_000.npz"));
      try (EvalDataset ds = DepthCases.open(caseDir, caseJson)) {
        EvalDataset.DepthGroundTruth gt = ds.groundTruth(0);
        float[] pred = DepthEvaluator.readPrediction(caseDir.resolve("prediction").resolve(ds.predictionPath(0)), gt);
        float[] fin = DepthEvaluator.finalPrediction(gt, pred, ds.config(), DepthCases.options(caseJson)).depth();
        assertSame(fin, dump.get("final_pred").toFloats(), name + " final_pred");
        if (dump.containsKey("gt_disparity")) {
          assertThat(LeastSquaresAlignment.inverseWherePositive(gt.depth()))
              .containsExactly(dump.get("gt_disparity").toFloats());
        }
      }
    }
  }

  /** Element-wise identity of large arrays (AssertJ's diff of millions of elements is far too slow). */
  static void assertSame(Object actual, Object expected, String what) {
    int n = java.lang.reflect.Array.getLength(expected);
    assertThat(java.lang.reflect.Array.getLength(actual)).as(what + " length").isEqualTo(n);
    int bad = 0;
    int first = -1;
    for (int i = 0; i < n; i++) {
      if (!java.lang.reflect.Array.get(actual, i).equals(java.lang.reflect.Array.get(expected, i))) {
        if (bad++ == 0) first = i;
      }
    }
    assertThat(bad).as("%s: %d of %d elements differ, first at %d", what, bad, n, first).isZero();
  }

  @Test
  void cropsKittiToTheBenchmarkSizeWithPythonSlicing() {
    for (JsonNode c : DepthUnits.JSON.get("kitti_crop")) {
      int h = c.get("in_hw").get(0).asInt();
      int w = c.get("in_hw").get(1).asInt();
      int[] rows = EvalDataset.kittiCropRange(h, true);
      int[] cols = EvalDataset.kittiCropRange(w, false);
      assertThat(new int[] {rows[1] - rows[0], cols[1] - cols[0], rows[0], cols[0]}).as("%dx%d", h, w)
          .containsExactly(c.get("out_hw").get(0).asInt(), c.get("out_hw").get(1).asInt(),
              c.get("first_row").asInt(), c.get("first_col").asInt());
    }
  }

  @Test
  void placesKittisGargAndEigenWindowsAsTheOriginal() {
    for (JsonNode c : DepthUnits.JSON.get("eval_masks")) {
      int[][] win = EvalDataset.kittiEvalWindow(c.get("crop").asText(), c.get("hw").get(0).asInt(),
          c.get("hw").get(1).asInt());
      assertThat(win[0]).containsExactly(c.get("rows").get(0).asInt(), c.get("rows").get(1).asInt());
      assertThat(win[1]).containsExactly(c.get("cols").get(0).asInt(), c.get("cols").get(1).asInt());
    }
    // the README's numbers for the benchmark crop
    assertThat(EvalDataset.kittiEvalWindow("eigen", 352, 1216)).isDeepEqualTo(new int[][] {{117, 321}, {43, 1172}});
  }

  @Test
  void dropsKittiLinesWithoutGroundTruthAndRejectsBlankLines() throws IOException {
    String list = "a/0.png d/0.png 721.5\na/1.png None 721.5\na/2.png d/2.png 721.5\n";
    assertThat(EvalDataset.FilenameLists.parse(new BufferedReader(new StringReader(list)), "l", DatasetKind.KITTI))
        .extracting(f -> f[0]).containsExactly("a/0.png", "a/2.png");
    assertThatThrownBy(() -> EvalDataset.FilenameLists.parse(
        new BufferedReader(new StringReader("a b c\n\nd e f\n")), "list.txt", DatasetKind.NYU_V2))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("list.txt line 2 is blank");
    assertThatThrownBy(() -> EvalDataset.FilenameLists.parse(
        new BufferedReader(new StringReader("a b\n")), "list.txt", DatasetKind.NYU_V2))
        .hasMessageContaining("line 1 has 2 field(s); nyu_v2 needs 3");
  }

  @Test
  void bundlesTheOriginalFilenameListsOfTheFiveBenchmarks() {
    Path nowhere = tmp.resolve("empty");
    Map<DatasetPreset, Integer> counts = Map.of(DatasetPreset.NYU, 654, DatasetPreset.KITTI, 652,
        DatasetPreset.ETH3D, 454, DatasetPreset.SCANNET, 800, DatasetPreset.DIODE, 771);
    for (DatasetPreset p : DatasetPreset.values()) {
      DatasetConfig cfg = p.config();
      assertThat(EvalDataset.FilenameLists.read(cfg, nowhere)).as(p.key()).hasSize(counts.get(p));
    }
  }

  @Test
  void namesTheArchiveAndExpectedLayoutWhenTheArchiveIsMissing() {
    assertThatThrownBy(() -> EvalDataset.open(DatasetPreset.NYU.config(), tmp.resolve("data"), tmp))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nyuv2" + java.io.File.separator + "nyu_labeled_extracted.tar not found")
        .hasMessageContaining("<data-dir>/kitti/kitti_eigen_split_test.tar");
  }

  @Test
  void namesTheMissingMemberAndTheNamingRule() throws IOException {
    Path caseDir = DepthCases.unpack("scannet_mini", tmp);
    Path list = caseDir.resolve("filename_list.txt");
    Files.writeString(list, "scene0120_02/color/001900.jpg scene0120_02/depth/999999.png\n");
    try (EvalDataset ds = DepthCases.open(caseDir, DepthCases.caseJson("scannet_mini"))) {
      assertThatThrownBy(() -> ds.groundTruth(0)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("member ./scene0120_02/depth/999999.png not found in")
          .hasMessageContaining("scannet_val_sampled_800_1.tar");
    }
  }

  @Test
  void readsTheOriginalYamlConfigs() {
    DatasetConfig kitti = DatasetPreset.KITTI.config();
    assertThat(kitti.kind()).isEqualTo(DatasetKind.KITTI);
    assertThat(kitti.kittiBmCrop()).isTrue();
    assertThat(kitti.validMaskCrop()).isEqualTo("eigen");
    assertThat(kitti.filenames()).isEqualTo("Marigold/data_split/kitti/eigen_test_files_with_gt.txt");
    assertThat(kitti.maxDepthText()).isEqualTo("80");
    assertThat(DatasetPreset.NYU.config().eigenValidMask()).isTrue();
    assertThat(DatasetPreset.ETH3D.config().maxDepth()).isInfinite();
    assertThat(DatasetPreset.DIODE.config().dispName()).isEqualTo("diode_val_all");
  }
}
