package marigold4j.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import marigold4j.estimator.lotus.LotusEstimator;
import marigold4j.image.Npy;
import marigold4j.pipeline.LotusPipeline;
import marigold4j.pipeline.Modality;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Lotus-D checkpoint behind the API: a seeded request reproduces the golden of the same seed
 * (testdata/lotus/pipelines/depth_d_res0_odd), within its suggested atol.
 */
class LotusServeTest {
  @Test
  void aSeededRequestReproducesInferPysDepth(@TempDir Path tmp) throws Exception {
    Golden g = Golden.load("lotus/pipelines", "depth_d_res0_odd");
    Path image = Golden.fixtures().resolve(g.json().path("input_image").asText());
    try (LotusPipeline pipe = LotusPipeline.load(Golden.fixtures().resolve("checkpoints/tiny-lotus-depth-d"));
        DemoServer server = DemoServer.start(List.of(new EstimatorServedModel("tiny-lotus-depth-d",
            new LotusEstimator(pipe, Modality.DEPTH, false))), DemoServer.Config.defaults().withPort(0))) {
      Api api = new Api(server.uri());
      JsonNode model = Api.json(api.get("/api/models")).path("models").get(0);
      assertThat(model.path("family").asText()).isEqualTo("lotus");
      assertThat(model.path("defaults").path("depth").path("processing_res").asInt()).isEqualTo(768);
      HttpResponse<byte[]> r = api.post("/api/predict", new Api.Form().image(image).field("processing_res", 0)
          .field("seed", g.json().path("seed_all").asLong()).field("format", "npy"));
      assertThat(r.statusCode()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
      Npy.Array a = Npy.read(Files.write(tmp.resolve("depth.npy"), r.body()));
      assertThat(a.shape()).isEqualTo(Tensors.shape(g.tensor("final.depth_npy")));
      assertThat(DemoServerTest.maxAbsDiff(a.toFloats(), Tensors.toFloats(g.tensor("final.depth_npy"))))
          .isLessThanOrEqualTo(g.atol("final.depth_npy"));
    }
  }
}
