package marigold4j.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.image.PilImage;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;

/**
 * The queue in front of the single model thread and the result cache, with a stand-in model whose predictions block
 * until the test releases them (so "busy" is a state the test controls, not a race).
 */
class QueueAndCacheTest {
  static final Path CATS = Golden.fixtures().resolve("images/photo_coco_cats_128x96.png");

  /** Predicts a constant map once {@link #release} is opened; counts the calls. */
  static final class GatedModel implements ServedModel {
    final CountDownLatch release = new CountDownLatch(1);
    final CountDownLatch started = new CountDownLatch(1);

    @Override
    public String id() {
      return "gated";
    }

    @Override
    public String family() {
      return "test";
    }

    @Override
    public List<Modality> tasks() {
      return List.of(Modality.DEPTH);
    }

    @Override
    public EstimatorSettings defaults(Modality task) {
      return EstimatorSettings.builder().processingRes(0).ensembleSize(1).denoisingSteps(1).noise(NoiseType.ZEROS)
          .build();
    }

    @Override
    public Output predict(PilImage image, Modality task, EstimatorSettings settings, long seed) {
      started.countDown();
      try {
        if (!release.await(60, TimeUnit.SECONDS)) throw new IllegalStateException("never released");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      byte[] tag = Long.toString(seed).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      return new Output(task, image.width(), image.height(), Map.of("npy", tag, "png16", tag, "colored", tag));
    }

    @Override
    public void close() {}
  }

  @Test
  void turnsRequestsAwayWith503AndRetryAfterWhenTheQueueIsFull() throws Exception {
    GatedModel model = new GatedModel();
    try (DemoServer server = DemoServer.start(List.of(model), DemoServer.Config.defaults().withPort(0)
        .withQueueCapacity(1))) {
      Api api = new Api(server.uri());
      CompletableFuture<HttpResponse<byte[]>> running = CompletableFuture.supplyAsync(() ->
          api.post("/api/predict", new Api.Form().image(CATS).field("seed", 1)));
      assertThat(model.started.await(30, TimeUnit.SECONDS)).as("first request reached the model").isTrue();
      CompletableFuture<HttpResponse<byte[]>> queued = CompletableFuture.supplyAsync(() ->
          api.post("/api/predict", new Api.Form().image(CATS).field("seed", 2)));
      waitUntil(() -> Api.json(api.get("/api/health")).path("queue").path("waiting").asInt() == 1);

      HttpResponse<byte[]> refused = api.post("/api/predict", new Api.Form().image(CATS).field("seed", 3));
      DemoServerTest.assertError(refused, 503, "retry later");
      assertThat(refused.headers().firstValue("Retry-After")).hasValueSatisfying(v ->
          assertThat(Integer.parseInt(v)).isPositive());

      model.release.countDown();
      assertThat(running.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      HttpResponse<byte[]> second = queued.get(30, TimeUnit.SECONDS);
      assertThat(second.statusCode()).isEqualTo(200);
      assertThat(Api.json(second).path("seed").asLong()).isEqualTo(2);
    }
  }

  @Test
  void keepsOnlyTheMostRecentResultsForDownload() {
    GatedModel model = new GatedModel();
    model.release.countDown();
    try (DemoServer server = DemoServer.start(List.of(model), DemoServer.Config.defaults().withPort(0)
        .withMaxResults(2))) {
      Api api = new Api(server.uri());
      JsonNode first = Api.json(api.post("/api/predict", new Api.Form().image(CATS).field("seed", 11)));
      JsonNode second = Api.json(api.post("/api/predict", new Api.Form().image(CATS).field("seed", 12)));
      assertThat(api.get(first.path("links").path("npy").asText()).body()).asString().isEqualTo("11");
      // reading the first made the second the least recently used one
      api.post("/api/predict", new Api.Form().image(CATS).field("seed", 13));
      assertThat(api.get(first.path("links").path("npy").asText()).statusCode()).isEqualTo(200);
      DemoServerTest.assertError(api.get(second.path("links").path("npy").asText()), 404, "no longer kept");
      assertThat(first.path("id").asText()).matches("[0-9a-f]{32}");
    }
  }

  @Test
  void bindsToLoopbackByDefault() {
    GatedModel model = new GatedModel();
    try (DemoServer server = DemoServer.start(List.of(model), DemoServer.Config.defaults().withPort(0))) {
      assertThat(server.uri().getHost()).isEqualTo("127.0.0.1");
    }
  }

  private static void waitUntil(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("condition not reached in 30 s");
      Thread.sleep(20);
    }
  }
}
