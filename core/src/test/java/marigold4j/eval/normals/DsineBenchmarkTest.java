package marigold4j.eval.normals;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import marigold4j.image.Npy;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/**
 * The DSINE benchmark on the six mini datasets of {@code eval/normals/dsine_all} (stored predictions in place of the
 * model), compared with what the original code recorded: loader outputs, model inputs, per-pixel errors, pooled
 * errors, metrics and the files it wrote.
 */
class DsineBenchmarkTest {
  private static final double REL = 1e-6;
  private static final Path CASE = Npz.dsineCase();
  private static final Path DATA = CASE.resolve("data/dsine_eval");
  private static final Path SPLITS = CASE.resolve("DSINE/data/datasets");
  private static final Path EXPECTED_RUN =
      CASE.resolve("expected/experiments/normals/dsine/Marigold/Marigold-E2E-FT");

  private static List<DsineSample> samples(DsineDataset d) {
    return d.samples(DATA, SPLITS);
  }

  private static Map<String, Npy.Array> expected(DsineDataset d, String file) {
    return Npy.readNpz(CASE.resolve("expected").resolve(d.id()).resolve(file));
  }

  @ParameterizedTest
  @EnumSource(DsineDataset.class)
  void readsSplitFilesInLoaderOrder(DsineDataset d) {
    JsonNode summary = Golden.readJson(CASE.resolve("expected/driver_summary.json")).get(d.id());
    List<String> expected = new ArrayList<>();
    summary.get("filenames").forEach(n -> expected.add(n.asText()));
    assertThat(summary.get("split").asText()).isEqualTo(d.split());
    assertThat(samples(d)).extracting(DsineSample::relativePath).containsExactlyElementsOf(expected);
  }

  @ParameterizedTest
  @EnumSource(DsineDataset.class)
  void decodesGroundTruthNormalsAndMaskAsTheLoader(DsineDataset d) {
    Map<String, Npy.Array> loader = expected(d, "loader_sample_000.npz");
    NormalsGroundTruth gt = DsineLoader.groundTruth(samples(d).get(0));
    Npy.Array normal = loader.get("normal"); // [3, H, W]
    assertThat(new long[] {3, gt.normals().height(), gt.normals().width()}).containsExactly(normal.shape());
    assertSameFloats(gt.normals().chw(), normal.toFloats(), d.id() + " normals");
    assertThat(gt.mask()).as(d.id() + " mask").containsExactly(loader.get("normal_mask").toBooleans());
  }

  @ParameterizedTest
  @EnumSource(DsineDataset.class)
  void normalisesTheImageAsTheLoader(DsineDataset d) {
    Map<String, Npy.Array> loader = expected(d, "loader_sample_000.npz");
    float[] img = DsineInput.imageNetNormalized(DsineLoader.readImage(samples(d).get(0).imagePath()));
    assertSameFloats(img, loader.get("img").toFloats(), d.id() + " ImageNet-normalised image");
  }

  @ParameterizedTest
  @EnumSource(DsineDataset.class)
  void preparesTheModelInputAsTheTestScript(DsineDataset d) {
    Npy.Array expected = Npy.read(CASE.resolve("expected").resolve(d.id()).resolve("model_input_000.npy"));
    Rgb8Image input = DsineInput.forModel(DsineLoader.readImage(samples(d).get(0).imagePath()));
    assertThat(new long[] {input.height(), input.width(), 3}).containsExactly(expected.shape());
    assertThat(input.hwc()).as(d.id() + " uint8 model input").containsExactly(expected.data());
  }

  @ParameterizedTest
  @EnumSource(DsineDataset.class)
  void reproducesPerPixelErrorsBitForBit(DsineDataset d) {
    Map<String, Npy.Array> z = expected(d, "per_sample_errors.npz");
    List<DsineSample> samples = samples(d);
    DsineEvaluation.PredictionSource source =
        DsineEvaluation.savedPredictions(CASE.resolve("prediction"), NormalFrame.LUB);
    for (int k = 0; k < samples.size(); k++) {
      NormalsGroundTruth gt = DsineLoader.groundTruth(samples.get(k));
      float[] err = NormalErrors.angularErrorDegrees(source.predict(samples.get(k)), gt.normals());
      assertSameFloats(err, z.get(String.format("error_%03d", k)).toFloats(), d.id() + " errors of sample " + k);
      assertThat(gt.mask()).as(d.id() + " mask of sample " + k)
          .containsExactly(z.get(String.format("mask_%03d", k)).toBooleans());
    }
  }

  @ParameterizedTest
  @EnumSource(DsineDataset.class)
  void reproducesPooledErrorsMetricsAndMetricsTxt(DsineDataset d) throws IOException {
    DsineEvaluation.DatasetResult r = DsineEvaluation.evaluate(samples(d),
        DsineEvaluation.savedPredictions(CASE.resolve("prediction"), NormalFrame.LUB), null);
    float[] pooled = Npy.read(CASE.resolve("expected").resolve(d.id()).resolve("total_normal_errors.npy")).toFloats();
    assertSameFloats(r.pooledErrors(), pooled, d.id() + " pooled errors");

    JsonNode summary = Golden.readJson(CASE.resolve("expected/driver_summary.json")).get(d.id());
    assertThat(r.metrics().numPixels()).isEqualTo(summary.get("num_pixels").asInt());
    NormalErrorsTest.assertMetrics(r.metrics(), summary.get("metrics_full_precision"), d.id());
    // float32 mean / median and the counts are bit-exact; rmse too, since the float32 sum follows numpy's blocking
    assertThat(r.metrics().mean()).isEqualTo(summary.get("metrics_full_precision").get("mean").asDouble());
    assertThat(r.metrics().median()).isEqualTo(summary.get("metrics_full_precision").get("median").asDouble());
    assertThat(r.metrics().rmse()).isEqualTo(summary.get("metrics_full_precision").get("rmse").asDouble());

    String expectedText = Files.readString(EXPECTED_RUN.resolve("test").resolve(d.id()).resolve("metrics.txt"));
    assertThat(r.metricsText()).isEqualTo(expectedText);
  }

  @Test
  void writesMetricsAndParamsFilesIdenticalToTheOriginal(@TempDir Path out) throws IOException {
    DsineEvaluation.writeParams(DsineEvalSettings.marigoldE2eFt(), out);
    assertThat(Files.readString(out.resolve("log/params.txt")))
        .isEqualTo(Files.readString(EXPECTED_RUN.resolve("log/params.txt")));
    DsineEvaluation.DatasetResult r = DsineEvaluation.evaluate(samples(DsineDataset.SINTEL),
        DsineEvaluation.savedPredictions(CASE.resolve("prediction"), NormalFrame.LUB), null);
    Path written = DsineEvaluation.writeMetrics(r, out);
    assertThat(written).isEqualTo(out.resolve("test/sintel/metrics.txt"));
    assertThat(Files.readAllBytes(written)).isEqualTo(Files.readAllBytes(EXPECTED_RUN.resolve("test/sintel/metrics.txt")));
  }

  /** Bit-for-bit equality (so -0.0 != 0.0), reporting the first difference only. */
  static void assertSameFloats(float[] actual, float[] expected, String what) {
    assertThat(actual.length).as(what + " length").isEqualTo(expected.length);
    for (int i = 0; i < actual.length; i++) {
      if (Float.floatToRawIntBits(actual[i]) != Float.floatToRawIntBits(expected[i])) {
        assertThat(actual[i]).as(what + " at index " + i + " (bit-exact)").isEqualTo(expected[i]);
        assertThat(Float.floatToRawIntBits(actual[i])).as(what + " sign at index " + i)
            .isEqualTo(Float.floatToRawIntBits(expected[i]));
      }
    }
  }

  @Test
  void allMeansTheOriginalFourDatasets() {
    assertThat(DsineDataset.parseList("all")).containsExactly(DsineDataset.NYUV2, DsineDataset.SCANNET,
        DsineDataset.IBIMS, DsineDataset.SINTEL);
    assertThat(DsineDataset.parseList("vkitti, oasis")).containsExactly(DsineDataset.VKITTI, DsineDataset.OASIS);
  }
}
