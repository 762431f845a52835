package marigold4j.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import marigold4j.estimator.Estimators;
import marigold4j.image.Npy;
import marigold4j.pipeline.Precision;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A diffusers intrinsics checkpoint behind the API: every target is a task, the same image, settings and seed give
 * the targets of one call (the page shows them side by side), uncertainty comes as a file of its own.
 */
class DiffusersServeTest {
  @Test
  void servesTheTargetsOfOneCallAndTheirUncertainty(@TempDir Path tmp) throws Exception {
    Path ckpt = Golden.fixtures().resolve("checkpoints/tiny-marigold-iid-lighting");
    Path image = Golden.fixtures().resolve("images/photo_coco_cats_128x96.png");
    try (DemoServer server = DemoServer.start(List.of(new EstimatorServedModel("iid-lighting",
        Estimators.load(ckpt, "iid-lighting", Precision.FP32, "cpu"))), DemoServer.Config.defaults().withPort(0))) {
      Api api = new Api(server.uri());
      JsonNode model = Api.json(api.get("/api/models")).path("models").get(0);
      assertThat(model.path("family").asText()).isEqualTo("marigold-diffusers");
      assertThat(model.path("tasks").toString()).isEqualTo("[\"albedo\",\"shading\",\"residual\"]");
      assertThat(model.path("defaults").path("albedo").path("output_uncertainty").asBoolean(true)).isFalse();

      float[][] maps = new float[3][];
      int i = 0;
      for (String task : List.of("albedo", "shading", "residual")) {
        HttpResponse<byte[]> r = api.post("/api/predict", new Api.Form().image(image).field("task", task)
            .field("processing_res", 32).field("ensemble_size", 2).field("denoising_steps", 1).field("seed", 7)
            .field("output_uncertainty", "true"));
        assertThat(r.statusCode()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
        JsonNode j = Api.json(r);
        assertThat(j.path("links").has("uncertainty")).as(task + " uncertainty link").isTrue();
        byte[] npy = api.get(j.path("links").path("npy").asText()).body();
        Npy.Array a = Npy.read(Files.write(tmp.resolve(task + ".npy"), npy));
        assertThat(a.shape()).containsExactly(96L, 128L, 3L);
        maps[i++] = a.toFloats();
      }
      // the same call through the core API: the served targets are its maps
      try (var e = Estimators.load(ckpt, "x", Precision.FP32, "cpu")) {
        var p = e.predict(marigold4j.image.ImageInput.read(image), marigold4j.estimator.EstimatorSettings.builder()
            .processingRes(32).ensembleSize(2).denoisingSteps(1).outputUncertainty(true).build(), e.seeded(7));
        int k = 0;
        for (var m : e.maps()) {
          assertThat(DemoServerTest.maxAbsDiff(maps[k++], p.map(m).valuesHwc())).as(m.cliName()).isZero();
        }
      }
      DemoServerTest.assertError(api.post("/api/predict", new Api.Form().image(image).field("task", "albedo")
          .field("output_uncertainty", "true").field("ensemble_size", 1)), 400, "ensemble_size 2");
    }
  }
}
