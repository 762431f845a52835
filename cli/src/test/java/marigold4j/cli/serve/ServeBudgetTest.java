package marigold4j.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import marigold4j.estimator.Estimators;
import marigold4j.estimator.WorkBudget;
import marigold4j.pipeline.Precision;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;

/**
 * The per-request budget: a request's memory and work are estimated from the processing size, the model and the
 * settings before it runs, refused with 413 (memory) or 422 (work) and the reason, and reported in /api/models.
 */
class ServeBudgetTest {
  static final Path CATS = Golden.fixtures().resolve("images/photo_coco_cats_128x96.png");

  @Test
  void refusesRequestsOverTheMemoryOrWorkBudgetAndReportsTheBudget() throws Exception {
    Path ckpt = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth");
    // 1 GB of activations and 20 units of work per request
    DemoServer.Config config = DemoServer.Config.defaults().withPort(0).withMaxRequestBytes(1L << 30)
        .withMaxWork(20);
    try (DemoServer server = DemoServer.start(List.of(new EstimatorServedModel("tiny",
        Estimators.load(ckpt, "tiny", Precision.FP32, "cpu"))), config)) {
      Api api = new Api(server.uri());
      JsonNode models = Api.json(api.get("/api/models"));
      JsonNode model = models.path("models").get(0);
      long bpp = model.path("bytes_per_processing_pixel").asLong();
      assertThat(bpp).as("12 values x the tiny VAE's widest block x 4 bytes").isPositive()
          .isEqualTo(12L * 4 * maxVaeChannels(ckpt));
      assertThat(models.path("limits").path("max_request_memory_bytes").asLong()).isEqualTo(1L << 30);
      assertThat(models.path("limits").path("max_work").asDouble()).isEqualTo(20.0);
      assertThat(model.path("max_processing_megapixels").asDouble()).isCloseTo((1L << 30) / (double) bpp / 1e6,
          org.assertj.core.data.Offset.offset(1e-9));

      // 2048 px on the long edge: 2048 x 1536 = 3.1 MP x 1536 bytes = 4.8 GB
      DemoServerTest.assertError(api.post("/api/predict", new Api.Form().image(CATS).field("processing_res", 2048)),
          413, "choose a smaller processing_res");
      // 512 x 384: 0.3 GB, within memory, but 0.2 MP x 10 members x 52 = 102 units of work
      DemoServerTest.assertError(api.post("/api/predict", new Api.Form().image(CATS).field("processing_res", 512)
          .field("ensemble_size", 10).field("denoising_steps", 50)), 422, "units of work");
      // a request within both budgets runs
      assertThat(api.post("/api/predict", new Api.Form().image(CATS).field("processing_res", 64)).statusCode())
          .isEqualTo(200);
    }
  }

  @Test
  void estimatesAreTheDocumentedFormulas() {
    assertThat(WorkBudget.processingPixels(4800, 4800, 2048)).isEqualTo(2048L * 2048);
    assertThat(WorkBudget.processingPixels(128, 96, 0)).isEqualTo(128L * 96);
    assertThat(WorkBudget.processingPixels(128, 96, 768)).isEqualTo(768L * 576);
    // the paper's most expensive setting
    assertThat(WorkBudget.work(768L * 768, 10, 50)).isCloseTo(306.7, org.assertj.core.data.Offset.offset(0.1));
    assertThat(WorkBudget.memory(1000, 6144, 2)).isEqualTo(12_288_000L);
  }

  private static int maxVaeChannels(Path ckpt) {
    return marigold4j.models.vae.AutoencoderKLConfig.read(ckpt.resolve("vae/config.json")).blockOutChannels().stream()
        .mapToInt(Integer::intValue).max().orElseThrow();
  }
}
