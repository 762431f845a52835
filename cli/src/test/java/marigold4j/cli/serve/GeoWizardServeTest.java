package marigold4j.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import marigold4j.estimator.geowizard.GeoWizardEstimator;
import marigold4j.image.Npy;
import marigold4j.pipeline.GeoWizardPipeline;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A GeoWizard checkpoint behind the API: both tasks from one model, and the domain field
 * (testdata/pipelines/geowizard_outdoor_res0).
 */
class GeoWizardServeTest {
  @Test
  void servesDepthAndNormalsOfTheOutdoorGolden(@TempDir Path tmp) throws Exception {
    Golden g = Golden.load("pipelines", "geowizard_outdoor_res0");
    Path image = Golden.fixtures().resolve(g.json().path("input_image").asText());
    try (GeoWizardPipeline pipe = GeoWizardPipeline.load(Golden.fixtures().resolve("checkpoints/tiny-geowizard"));
        DemoServer server = DemoServer.start(List.of(new EstimatorServedModel("tiny-geowizard", new GeoWizardEstimator(pipe))),
            DemoServer.Config.defaults().withPort(0))) {
      Api api = new Api(server.uri());
      JsonNode model = Api.json(api.get("/api/models")).path("models").get(0);
      assertThat(model.path("tasks").toString()).isEqualTo("[\"depth\",\"normals\"]");
      assertThat(model.path("domains").toString()).isEqualTo("[\"indoor\",\"outdoor\",\"object\"]");
      assertThat(model.path("defaults").path("normals").path("domain").asText()).isEqualTo("indoor");

      for (String task : List.of("depth", "normals")) {
        HttpResponse<byte[]> r = api.post("/api/predict", new Api.Form().image(image).field("task", task)
            .field("domain", "outdoor").field("processing_res", 0).field("format", "npy"));
        assertThat(r.statusCode()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
        Path f = Files.write(tmp.resolve(task + ".npy"), r.body());
        Npy.Array a = Npy.read(f);
        String key = task.equals("depth") ? "final.depth_np" : "final.normal_np";
        // run_infer.py's layouts: depth (H, W), normals (H, W, 3)
        assertThat(a.shape()).isEqualTo(Tensors.shape(g.tensor(key)));
        double dev = DemoServerTest.maxAbsDiff(a.toFloats(), Tensors.toFloats(g.tensor(key)));
        System.out.printf("serve geowizard_outdoor_res0 %s: max |java - python| = %.3g (atol %.3g)%n", key, dev,
            g.atol(key));
        assertThat(dev).as(key).isLessThanOrEqualTo(g.atol(key));
      }
      DemoServerTest.assertError(api.post("/api/predict", new Api.Form().image(image).field("domain", "space")), 400,
          "unknown GeoWizard domain 'space'");
    }
  }
}
