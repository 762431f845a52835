package marigold4j.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
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
 * serve's {@code tiles=true} ({@code predict --tiles}): a native-size map from tiles, its options checked with the
 * form's names, and the tiles' work counted in the per-request budget.
 */
class TilesServeTest {
  static final Path CATS = Golden.fixtures().resolve("images/photo_coco_cats_128x96.png");

  @Test
  void tilesGiveANativeSizeMapAndCountInTheBudget(@TempDir Path tmp) throws Exception {
    Path ckpt = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth");
    // untiled at 64 px, 4 steps: 64 x 48 px = 0.003 MP x 6 = 0.018 units; tiled (a global prediction and 6 tiles
    // of 64 x 64): 0.028 MP x 6 = 0.17 units
    DemoServer.Config config = DemoServer.Config.defaults().withPort(0).withMaxWork(0.1);
    try (DemoServer server = DemoServer.start(List.of(new EstimatorServedModel("tiny",
        Estimators.load(ckpt, "tiny", Precision.FP32, "cpu"))), config)) {
      Api api = new Api(server.uri());
      DemoServerTest.assertError(api.post("/api/predict", new Api.Form().image(CATS).field("processing_res", 64)
          .field("denoising_steps", 4).field("tiles", "true").field("tile_size", 64).field("tile_overlap", 16)),
          422, "tiled: 6 tiles of 64 px and a global prediction");
      assertThat(api.post("/api/predict", new Api.Form().image(CATS).field("processing_res", 64)
          .field("denoising_steps", 4)).statusCode()).as("the same request untiled is within the budget")
          .isEqualTo(200);
      DemoServerTest.assertError(api.post("/api/predict", new Api.Form().image(CATS).field("tiles", "true")
          .field("tile_size", 64).field("tile_overlap", 64)), 400,
          "tile_overlap (64 px) must be smaller than tile_size (64 px)");
      DemoServerTest.assertError(api.post("/api/predict", new Api.Form().image(CATS).field("tile_size", 64)), 400,
          "tile_size needs tiles=true");
      DemoServerTest.assertError(api.post("/api/predict", new Api.Form().image(CATS).field("tiles", "maybe")), 400,
          "tiles must be true or false");
    }
    try (DemoServer server = DemoServer.start(List.of(new EstimatorServedModel("tiny",
        Estimators.load(ckpt, "tiny", Precision.FP32, "cpu"))), DemoServer.Config.defaults().withPort(0))) {
      Api api = new Api(server.uri());
      HttpResponse<byte[]> r = api.post("/api/predict", new Api.Form().image(CATS).field("processing_res", 64)
          .field("denoising_steps", 4).field("tiles", "true").field("tile_size", 64).field("tile_overlap", 16)
          .field("format", "npy"));
      assertThat(r.statusCode()).as(new String(r.body(), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo(200);
      Path npy = Files.write(tmp.resolve("d.npy"), r.body());
      assertThat(Npy.read(npy).shape()).containsExactly(96, 128);
    }
  }
}
