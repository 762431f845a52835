package marigold4j.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import marigold4j.estimator.Estimators;
import marigold4j.image.Npy;
import marigold4j.pipeline.Precision;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * serve's 3D files (issue 18): {@code geometry=true} adds the point cloud, meshes and EXR of the depth map as
 * download links; an uploaded metric reference adds the metric depth and its alignment; a reference of the wrong size
 * is a 400 naming it.
 */
class GeometryServeTest {
  static final Path GRAY = Golden.fixtures().resolve("images/synthetic_gray_64x48.png");

  @Test
  void offersPointCloudMeshEXRAndMetricDepth(@TempDir Path tmp) throws Exception {
    Path ckpt = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth");
    try (DemoServer server = DemoServer.start(List.of(new EstimatorServedModel("tiny",
        Estimators.load(ckpt, "tiny", Precision.FP32, "cpu"))), DemoServer.Config.defaults().withPort(0))) {
      Api api = new Api(server.uri());
      JsonNode plain = Api.json(api.post("/api/predict", new Api.Form().image(GRAY).field("processing_res", 64)));
      assertThat(plain.path("links").has("ply")).as("no 3D files unless asked").isFalse();

      JsonNode j = Api.json(api.post("/api/predict", new Api.Form().image(GRAY).field("processing_res", 64)
          .field("geometry", "true")));
      for (String kind : List.of("ply", "mesh_ply", "glb", "exr")) {
        assertThat(j.path("links").has(kind)).as(kind).isTrue();
      }
      byte[] ply = api.get(j.path("links").path("ply").asText()).body();
      String header = new String(ply, 0, Math.min(ply.length, 400), StandardCharsets.ISO_8859_1);
      assertThat(header).startsWith("ply\nformat binary_little_endian 1.0").contains("element vertex 3072");
      byte[] glb = api.get(j.path("links").path("glb").asText()).body();
      assertThat(new String(glb, 0, 4, StandardCharsets.ISO_8859_1)).isEqualTo("glTF");
      byte[] exr = api.get(j.path("links").path("exr").asText()).body();
      assertThat(exr[0] & 0xff).isEqualTo(0x76);                      // OpenEXR magic 20000630
      assertThat(exr[1] & 0xff).isEqualTo(0x2f);

      // a metric reference of the image's size: metres from 1 to 5 across the image
      float[] m = new float[48 * 64];
      for (int i = 0; i < m.length; i++) m[i] = 1f + 4f * (i % 64) / 63f;
      Path ref = tmp.resolve("ref.npy");
      Npy.write(ref, Npy.Array.ofFloats(m, 48, 64));
      JsonNode metric = Api.json(api.post("/api/predict", new Api.Form().image(GRAY).field("processing_res", 64)
          .file("metric_depth", "ref.npy", "application/octet-stream", Files.readAllBytes(ref))));
      assertThat(metric.path("links").has("metric_npy")).isTrue();
      String sidecar = new String(api.get(metric.path("links").path("metric_json").asText()).body(),
          StandardCharsets.UTF_8);
      assertThat(sidecar).contains("\"scale\"").contains("\"shift\"").contains("\"points\"");

      Path small = tmp.resolve("small.npy");
      Npy.write(small, Npy.Array.ofFloats(new float[6], 2, 3));
      DemoServerTest.assertError(api.post("/api/predict", new Api.Form().image(GRAY).file("metric_depth", "small.npy",
          "application/octet-stream", Files.readAllBytes(small))),
          400, "must have the image's size");
    }
  }
}
