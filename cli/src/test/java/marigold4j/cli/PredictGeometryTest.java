package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import marigold4j.eval.normals.OpenExr;
import marigold4j.image.Npy;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code predict} with the geometry options (issue 18) on the tiny depth checkpoint. */
class PredictGeometryTest {
  static final Path IMAGE = Golden.fixtures().resolve("images/synthetic_gray_64x48.png");

  @Test
  void writesMetricDepthPointCloudAndExr(@TempDir Path tmp) throws Exception {
    Path ref = tmp.resolve("ref.npy");
    float[] m = new float[64 * 48];
    for (int i = 0; i < m.length; i++) m[i] = i % 5 == 0 ? 0 : 2 + (i % 64) / 32f;
    Npy.write(ref, Npy.Array.ofFloats(m, 48, 64));
    Path out = tmp.resolve("out");
    CliRun r = CliRun.of("predict", IMAGE.toString(), "-o", out.toString(), "--checkpoint",
        PredictCommandTest.TINY_DEPTH.toString(), "--processing-res", "64", "--seed", "1", "--point-cloud", "--exr",
        "--metric-depth", ref.toString(), "--robust", "--fov", "70");
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.err()).contains("camera fx=").contains("--fov 70.0").contains("depth in metres");
    String name = "synthetic_gray_64x48";
    JsonNode j = new ObjectMapper().readTree(out.resolve("depth_metric/" + name + "_metric.json").toFile());
    for (String k : new String[] {"scale", "shift", "space", "points", "rmse_m", "abs_rel"}) {
      assertThat(j.has(k)).as(k).isTrue();
    }
    assertThat(j.path("points").asInt()).isEqualTo(64 * 48 - (64 * 48 + 4) / 5);
    assertThat(j.path("method").asText()).isEqualTo("irls_huber_tukey");
    Npy.Array metric = Npy.read(out.resolve("depth_metric/" + name + "_metric.npy"));
    assertThat(metric.shape()).containsExactly(48, 64);
    float[] pred = Npy.read(out.resolve("depth_npy/" + name + "_pred.npy")).toFloats();
    assertThat(OpenExr.read(out.resolve("depth_exr/" + name + "_pred.exr")).channel("Y")).containsExactly(pred);
    byte[] ply = Files.readAllBytes(out.resolve("point_cloud/" + name + "_points.ply"));
    String header = new String(ply, StandardCharsets.ISO_8859_1);
    header = header.substring(0, header.indexOf("end_header\n") + 11);
    int vertices = Integer.parseInt(header.replaceAll("(?s).*element vertex (\\d+).*", "$1"));
    long positive = 0;
    for (float v : metric.toFloats()) if (v > 0) positive++;
    assertThat(vertices).isEqualTo(positive);
    assertThat(ply).hasSize(header.length() + 15 * vertices);
    assertThat(header).contains("comment units metres");
    assertThat(out.resolve("mesh")).doesNotExist();
  }

  @Test
  void aReferenceOfTheWrongSizeFailsNamingTheFileAndWritesNoGeometry(@TempDir Path tmp) throws Exception {
    Path ref = tmp.resolve("small.npy");
    Npy.write(ref, Npy.Array.ofFloats(new float[12], 3, 4));
    Path out = tmp.resolve("out");
    CliRun r = CliRun.of("predict", IMAGE.toString(), "-o", out.toString(), "--checkpoint",
        PredictCommandTest.TINY_DEPTH.toString(), "--processing-res", "64", "--seed", "1", "--mesh",
        "--metric-depth", ref.toString());
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.err()).contains("small.npy").contains("4x3").contains("64x48");
    assertThat(out.resolve("depth_metric")).doesNotExist();
    assertThat(out.resolve("mesh")).doesNotExist();
  }

  @Test
  void badGeometryOptionsFailBeforeLoading(@TempDir Path tmp) {
    CliRun r = CliRun.of("predict", IMAGE.toString(), "-o", tmp.toString(), "--checkpoint", "no/such-model",
        "--point-cloud", "--intrinsics", "1,2,3");
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.err()).contains("--intrinsics needs four");
    CliRun help = CliRun.of("predict", "--help");
    assertThat(help.out()).contains("--metric-depth=REF", "--metric-depth-scale", "--metric-alignment", "--robust",
        "--intrinsics", "--fov", "--point-cloud", "--normals-from-depth", "--depth-range", "--mesh", "--exr");
  }
}
