package marigold4j.eval.depth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import marigold4j.torch.Engine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** End to end against the original {@code eval.py} runs of {@code testdata/eval/depth}. */
class DepthEvaluatorTest {
  private static final Logger LOG = LoggerFactory.getLogger(DepthEvaluatorTest.class);
  /** Per-image metrics are float32 torch reductions; the README's tolerance for the dataset means. */
  private static final double REL_TOL = 1e-6;

  @TempDir Path tmp;

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"nyu_full", "kitti_full", "eth3d_full", "scannet_mini", "diode_mini",
      "nyu_mini_disparity", "kitti_mini_garg", "eth3d_mini_maxres", "scannet_mini_noalign"})
  void reproducesTheOriginalMetricFilesByteForByte(String name) throws IOException {
    Engine.setThreads(2);
    long t0 = System.nanoTime();
    JsonNode caseJson = DepthCases.caseJson(name);
    Path caseDir = DepthCases.unpack(name, tmp);
    Path out = tmp.resolve("out");
    DepthEvaluator.Result r;
    try (EvalDataset ds = DepthCases.open(caseDir, caseJson)) {
      r = DepthEvaluator.evaluate(ds, caseDir.resolve("prediction"), "prediction", DepthCases.options(caseJson), out,
          EvalProgress.NONE);
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;

    Path expected = DepthCases.source(name).resolve(caseJson.get("metrics_file").asText());
    assertThat(r.metricsFile().getFileName().toString()).isEqualTo(expected.getFileName().toString());
    assertThat(Files.readString(r.metricsFile())).isEqualTo(Files.readString(expected));
    assertThat(Files.readString(r.perSampleFile())).isEqualTo(
        Files.readString(DepthCases.source(name).resolve("expected/eval_metric/per_sample_metrics.csv")));

    double worst = 0;
    for (Iterator<Map.Entry<String, JsonNode>> it = caseJson.get("mean_metrics_full_precision").fields();
        it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      double want = e.getValue().asDouble();
      double got = r.means().get(e.getKey());
      assertThat(got).as(e.getKey()).isCloseTo(want, within(REL_TOL * Math.abs(want)));
      worst = Math.max(worst, Math.abs(got - want) / Math.abs(want));
    }
    assertThat(r.missingPredictions()).isEmpty();
    LOG.info("{}: {} samples in {} ms, max relative deviation of the means {}", name, r.samples().size(), ms, worst);
  }

  @ParameterizedTest(name = "{0} with {1} threads")
  @CsvSource({"nyu_full, 1", "nyu_full, 8", "kitti_full, 1", "kitti_full, 8"})
  void perImageMetricsDoNotDependOnTheThreadCount(String name, int threads) throws IOException {
    // torch splits large float32 sums across threads; the values must still be the original's
    Engine.setThreads(threads);
    JsonNode caseJson = DepthCases.caseJson(name);
    Path caseDir = DepthCases.unpack(name, tmp);
    DepthEvaluator.Result r;
    try (EvalDataset ds = DepthCases.open(caseDir, caseJson)) {
      r = DepthEvaluator.evaluate(ds, caseDir.resolve("prediction"), "prediction", DepthCases.options(caseJson),
          tmp.resolve("out"), EvalProgress.NONE);
    }
    assertThat(Files.readString(r.perSampleFile())).isEqualTo(
        Files.readString(DepthCases.source(name).resolve("expected/eval_metric/per_sample_metrics.csv")));
  }

  @Test
  void skipsAndCountsAMissingPrediction() throws IOException {
    JsonNode caseJson = DepthCases.caseJson("scannet_mini");
    Path caseDir = DepthCases.unpack("scannet_mini", tmp);
    Files.delete(caseDir.resolve("prediction/scene0288_00/color/pred_000500.npy"));
    DepthEvaluator.Result r;
    try (EvalDataset ds = DepthCases.open(caseDir, caseJson)) {
      r = DepthEvaluator.evaluate(ds, caseDir.resolve("prediction"), "prediction", DepthCases.options(caseJson),
          tmp.resolve("out"), EvalProgress.NONE);
    }
    assertThat(r.missingPredictions()).containsExactly("scene0288_00/color/pred_000500.npy");
    assertThat(r.samples()).extracting(DepthEvaluator.SampleResult::predictionPath)
        .containsExactly("scene0120_02/color/pred_001900.npy", "scene0202_01/color/pred_000200.npy");
    double mean = (r.samples().get(0).metrics()[0] + r.samples().get(1).metrics()[0]) / 2;
    assertThat(r.means().get("abs_relative_difference")).isEqualTo(mean);
  }

  @Test
  void writesZeroMeansLikeTheOriginalWhenNothingWasEvaluated() throws IOException {
    JsonNode caseJson = DepthCases.caseJson("scannet_mini");
    Path caseDir = DepthCases.unpack("scannet_mini", tmp);
    DepthEvaluator.Result r;
    try (EvalDataset ds = DepthCases.open(caseDir, caseJson)) {
      r = DepthEvaluator.evaluate(ds, tmp.resolve("nothing"), "nothing", DepthCases.options(caseJson),
          tmp.resolve("out"), EvalProgress.NONE);
    }
    assertThat(r.missingPredictions()).hasSize(3);
    assertThat(r.metricsText()).endsWith("\n0                        0                            0            "
        + "0         0      0           0           0           0       0\n"
        + "-----------------------  ---------------------------  -----------  --------  -----  ----------  "
        + "----------  ----------  ------  ----------");
  }

  @Test
  void evaluatingASampleLeavesNoNativeMemoryBehind() throws IOException {
    JsonNode caseJson = DepthCases.caseJson("scannet_mini");
    Path caseDir = DepthCases.unpack("scannet_mini", tmp);
    try (EvalDataset ds = DepthCases.open(caseDir, caseJson)) {
      EvalDataset.DepthGroundTruth gt = ds.groundTruth(0);
      float[] pred = DepthEvaluator.readPrediction(caseDir.resolve("prediction").resolve(ds.predictionPath(0)), gt);
      long before = 0;
      for (int i = 0; i < 30; i++) {
        DepthEvaluator.evaluateSample(gt, pred, "p", ds.config(), DepthCases.options(caseJson));
        if (i == 4) before = org.bytedeco.javacpp.Pointer.totalCount();
      }
      // only a rise is a leak: the collector may lower the process-wide count at any time (see NativePointers)
      assertThat(org.bytedeco.javacpp.Pointer.totalCount()).isLessThanOrEqualTo(before);
    }
  }

  @AfterEach
  void defaultThreads() {
    Engine.setThreads(2);
  }
}
