package marigold4j.estimator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.stream.Stream;
import marigold4j.eval.normals.OpenExr;
import marigold4j.geometry.GeometryRequest;
import marigold4j.geometry.MetricAlignment;
import marigold4j.geometry.MetricReference;
import marigold4j.geometry.Scene;
import marigold4j.image.Npy;
import marigold4j.image.PilImage;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Prediction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The geometry formats: written only when a prediction carries a scene asking for them, each file complete. */
class GeometryFormatsTest {
  static final int W = 8;
  static final int H = 6;

  static DensePrediction depthPrediction() {
    float[] d = new float[W * H];
    for (int i = 0; i < d.length; i++) d[i] = 0.1f + 0.8f * (i % W) / W + 0.01f * (i / W);
    return new DensePrediction(Map.of(Modality.DEPTH, Prediction.of(Modality.DEPTH, H, W, d, null, null, null)),
        DensePrediction.Convention.RUN_PY);
  }

  static PilImage image() {
    byte[] px = new byte[3 * W * H];
    for (int i = 0; i < px.length; i++) px[i] = (byte) i;
    return new PilImage(PilImage.Mode.RGB, W, H, px);
  }

  static List<String> files(Path dir) throws Exception {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString()).sorted().toList();
    }
  }

  @Test
  void withoutASceneOnlyTheUsualFilesAreWritten(@TempDir Path tmp) throws Exception {
    depthPrediction().save(tmp, "a");
    assertThat(files(tmp)).containsExactly("depth_bw/a_pred.png", "depth_npy/a_pred.npy");
  }

  @Test
  void aSceneWithAMetricReferenceWritesEveryAskedFile(@TempDir Path tmp) throws Exception {
    DensePrediction p = depthPrediction();
    float[] d = p.map(Modality.DEPTH).values();
    float[] ref = new float[W * H];
    for (int i = 0; i < ref.length; i++) ref[i] = i % 3 == 0 ? 0 : 2 * d[i] + 0.5f;
    GeometryRequest req = new GeometryRequest(true, true, true, true, MetricAlignment.Space.DEPTH, false, null,
        1, 10, 0.05);
    Scene scene = Scene.of(req, p.map(Modality.DEPTH), null, image(), OptionalDouble.of(26),
        new MetricReference(W, H, ref, "ref.npy"));
    p.withScene(scene).save(tmp, "a");
    assertThat(files(tmp)).containsExactly("depth_bw/a_pred.png", "depth_exr/a_pred.exr",
        "depth_metric/a_metric.exr", "depth_metric/a_metric.json", "depth_metric/a_metric.npy",
        "depth_npy/a_pred.npy", "mesh/a_mesh.glb", "mesh/a_mesh.ply", "point_cloud/a_points.ply");
    JsonNode j = new ObjectMapper().readTree(tmp.resolve("depth_metric/a_metric.json").toFile());
    assertThat(j.path("scale").asDouble()).isCloseTo(2, org.assertj.core.api.Assertions.within(1e-5));
    assertThat(j.path("shift").asDouble()).isCloseTo(0.5, org.assertj.core.api.Assertions.within(1e-5));
    assertThat(j.path("space").asText()).isEqualTo("depth");
    assertThat(j.path("points").asInt()).isEqualTo(32);
    assertThat(j.has("rmse_m") && j.has("abs_rel")).isTrue();
    assertThat(j.at("/camera/source").asText()).contains("EXIF");
    float[] metric = Npy.read(tmp.resolve("depth_metric/a_metric.npy")).toFloats();
    assertThat(metric[1]).isCloseTo(2 * d[1] + 0.5f, org.assertj.core.api.Assertions.within(1e-5f));
    assertThat(OpenExr.read(tmp.resolve("depth_metric/a_metric.exr")).channel("Y")).containsExactly(metric);
    assertThat(OpenExr.read(tmp.resolve("depth_exr/a_pred.exr")).channel("Y")).containsExactly(d);
    String head = Files.readString(tmp.resolve("point_cloud/a_points.ply"),
        java.nio.charset.StandardCharsets.ISO_8859_1);
    assertThat(head).contains("element vertex 48").contains("comment units metres").contains("property float nx");
  }

  @Test
  void withoutAReferenceThePointCloudSaysItsScaleIsArbitrary(@TempDir Path tmp) throws Exception {
    DensePrediction p = depthPrediction();
    GeometryRequest req = new GeometryRequest(false, true, false, false, null, false, null, 1, 10, 0.05);
    p.withScene(Scene.of(req, p.map(Modality.DEPTH), null, image(), OptionalDouble.empty(), null)).save(tmp, "a");
    assertThat(files(tmp)).contains("point_cloud/a_points.ply").doesNotContain("mesh/a_mesh.glb");
    String head = Files.readString(tmp.resolve("point_cloud/a_points.ply"),
        java.nio.charset.StandardCharsets.ISO_8859_1);
    assertThat(head).contains("comment units arbitrary scale").contains("default horizontal FOV");
  }

  @Test
  void aReferenceOfAnotherSizeNamesTheFile() {
    DensePrediction p = depthPrediction();
    GeometryRequest req = new GeometryRequest(false, true, false, false, null, false, null, 1, 10, 0.05);
    assertThatThrownBy(() -> Scene.of(req, p.map(Modality.DEPTH), null, image(), OptionalDouble.empty(),
        new MetricReference(W + 1, H, new float[(W + 1) * H], "scan.npy")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scan.npy").hasMessageContaining("9x6");
  }
}
