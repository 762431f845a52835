package marigold4j.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.imageio.ImageIO;
import marigold4j.estimator.marigold.MarigoldEstimator;
import marigold4j.image.ImageInput;
import marigold4j.image.Npy;
import marigold4j.pipeline.MarigoldPipeline;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Prediction;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The HTTP API against the tiny fixture checkpoints (testdata/checkpoints/tiny-marigold-{depth,normals}): results
 * compared with the original pipeline's goldens (testdata/pipelines/depth_e2e_res0) and with
 * {@link MarigoldPipeline#predict} on the same image; every error status.
 */
class DemoServerTest {
  static final Path CATS = Golden.fixtures().resolve("images/photo_coco_cats_128x96.png");
  static final Path ROOM = Golden.fixtures().resolve("images/photo_living_room_112x68.png");
  static final long UPLOAD_LIMIT = 1 << 20;
  static Golden golden;
  static MarigoldPipeline depthPipe;
  static MarigoldPipeline normalsPipe;
  static DemoServer server;
  static Api api;

  @BeforeAll
  static void start() {
    golden = Golden.load("pipelines", "depth_e2e_res0");
    depthPipe = MarigoldPipeline.load(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth"));
    normalsPipe = MarigoldPipeline.load(Golden.fixtures().resolve("checkpoints/tiny-marigold-normals"));
    List<ServedModel> models = List.of(
        new EstimatorServedModel("tiny-marigold-depth", new MarigoldEstimator(depthPipe, Modality.DEPTH)),
        new EstimatorServedModel("tiny-marigold-normals", new MarigoldEstimator(normalsPipe, Modality.NORMALS)));
    server = DemoServer.start(models, DemoServer.Config.defaults().withPort(0).withMaxUploadBytes(UPLOAD_LIMIT)
        .withMaxPixels(4_000_000).withMaxProcessingRes(512).withQueueCapacity(32));
    api = new Api(server.uri());
  }

  @AfterAll
  static void stop() {
    server.close();
    depthPipe.close();
    normalsPipe.close();
  }

  /** The golden case's settings: native resolution, E2E defaults (1 step, zeros noise, no ensemble). */
  static Api.Form catsAtNativeResolution() {
    return new Api.Form().image(CATS).field("model", "tiny-marigold-depth").field("task", "depth")
        .field("processing_res", 0);
  }

  @Test
  void reproducesTheGoldenDepthThroughTheJsonLinks() {
    HttpResponse<byte[]> r = api.post("/api/predict", catsAtNativeResolution());
    assertThat(r.statusCode()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
    JsonNode j = Api.json(r);
    assertThat(j.path("width").asInt()).isEqualTo(128);
    assertThat(j.path("height").asInt()).isEqualTo(96);
    assertThat(j.path("settings").path("processing_res").asInt()).isZero();
    assertThat(j.path("processing_ms").asLong()).isPositive();

    float[] depth = npyFloats(download(j, "npy"));
    double atol = golden.atol("final.depth_np");
    double dev = maxAbsDiff(depth, Tensors.toFloats(golden.tensor("final.depth_np")));
    System.out.printf("serve depth_e2e_res0: npy max |java - python| = %.3g (atol %.3g)%n", dev, atol);
    assertThat(dev).as("npy vs golden final.depth_np").isLessThanOrEqualTo(atol);

    HttpResponse<byte[]> colored = api.get(j.path("links").path("colored").asText());
    assertThat(colored.headers().firstValue("Content-Type")).hasValue("image/png");
    assertThat(colored.headers().firstValue("Content-Disposition"))
        .hasValue("attachment; filename=\"photo_coco_cats_128x96_pred_colored.png\"");
    assertColoredMatchesGolden(rgbPixels(colored.body()), "served colourised PNG");

    // 16-bit PNG: (d * 65535) truncated, so within atol * 65535 plus one unit of the golden's own truncation
    int[] png16 = grey16(download(j, "png16"));
    float[] want = Tensors.toFloats(golden.tensor("final.depth_np"));
    int maxUnits = 0;
    for (int i = 0; i < want.length; i++) maxUnits = Math.max(maxUnits, Math.abs(png16[i] - (int) (want[i] * 65535f)));
    System.out.printf("serve depth_e2e_res0: 16-bit PNG max deviation = %d units (allowed %d)%n", maxUnits,
        (int) Math.ceil(atol * 65535) + 1);
    assertThat(maxUnits).isLessThanOrEqualTo((int) Math.ceil(atol * 65535) + 1);
  }

  @Test
  void servesExactlyWhatThePipelineComputes() {
    byte[] npy = api.post("/api/predict", catsAtNativeResolution().field("format", "npy")).body();
    float[] direct = directDepth(CATS);
    assertThat(npyFloats(npy)).as("served .npy vs MarigoldPipeline.predict").containsExactly(direct);
  }

  @Test
  void returnsTheFileItselfWhenAskedFor() {
    HttpResponse<byte[]> npy = api.post("/api/predict", catsAtNativeResolution().field("format", "npy"));
    assertThat(npy.statusCode()).isEqualTo(200);
    assertThat(npy.headers().firstValue("Content-Disposition"))
        .hasValue("attachment; filename=\"photo_coco_cats_128x96_pred.npy\"");
    assertThat(npy.headers().firstValue("X-Processing-Ms")).isPresent();
    HttpResponse<byte[]> png16 = api.post("/api/predict?format=png16", catsAtNativeResolution());
    assertThat(grey16(png16.body())).hasSize(128 * 96);
    HttpResponse<byte[]> byAccept = api.post("/api/predict", catsAtNativeResolution(),
        Map.of("Accept", "application/x-npy"));
    assertThat(byAccept.body()).isEqualTo(npy.body());
    HttpResponse<byte[]> colored = api.post("/api/predict", catsAtNativeResolution().field("format", "colored"));
    assertColoredMatchesGolden(rgbPixels(colored.body()), "colourised PNG returned directly");
  }

  @Test
  void predictsNormalsWithTheNormalsCheckpointAndOffersNo16BitPng() {
    HttpResponse<byte[]> r = api.post("/api/predict", new Api.Form().image(CATS).field("task", "normals")
        .field("processing_res", 0));
    assertThat(r.statusCode()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
    JsonNode j = Api.json(r);
    assertThat(j.path("model").asText()).isEqualTo("tiny-marigold-normals");
    assertThat(j.path("links").has("png16")).isFalse();
    Golden normals = Golden.load("pipelines", "normals_e2e_res0");
    double dev = maxAbsDiff(npyFloats(download(j, "npy")), Tensors.toFloats(normals.tensor("final.normal_np")));
    System.out.printf("serve normals_e2e_res0: npy max |java - python| = %.3g (atol %.3g)%n", dev,
        normals.atol("final.normal_np"));
    assertThat(dev).isLessThanOrEqualTo(normals.atol("final.normal_np"));
  }

  @Test
  void answersTwentyConcurrentRequestsCorrectly() throws Exception {
    float[] cats = directDepth(CATS);
    float[] room = directDepth(ROOM);
    ExecutorService clients = Executors.newFixedThreadPool(20);
    try {
      List<Future<HttpResponse<byte[]>>> calls = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        Path image = i % 2 == 0 ? CATS : ROOM;
        calls.add(clients.submit(() -> api.post("/api/predict", new Api.Form().image(image)
            .field("processing_res", 0).field("format", "npy"))));
      }
      for (int i = 0; i < 20; i++) {
        HttpResponse<byte[]> r = calls.get(i).get();
        assertThat(r.statusCode()).as("request " + i + ": " + new String(r.body(), StandardCharsets.UTF_8))
            .isEqualTo(200);
        assertThat(npyFloats(r.body())).as("request " + i).containsExactly(i % 2 == 0 ? cats : room);
      }
    } finally {
      clients.shutdownNow();
    }
  }

  @Test
  void keepsNativeMemoryFlatOverRequests() {
    for (int i = 0; i < 2; i++) api.post("/api/predict", catsAtNativeResolution().field("format", "npy"));   // warm-up
    System.gc();
    long before = org.bytedeco.javacpp.Pointer.totalCount();
    for (int i = 0; i < 10; i++) {
      assertThat(api.post("/api/predict", catsAtNativeResolution().field("format", "npy")).statusCode()).isEqualTo(200);
    }
    long after = org.bytedeco.javacpp.Pointer.totalCount();
    System.out.printf("native pointers before/after 10 requests: %d / %d%n", before, after);
    assertThat(after).as("native pointers alive after 10 more requests").isLessThanOrEqualTo(before + 5);
  }

  @Test
  void reportsHealthAndTheLoadedModelsWithTheirDefaults() {
    JsonNode health = Api.json(api.get("/api/health"));
    assertThat(health.path("status").asText()).isEqualTo("ok");
    assertThat(health.path("queue").path("capacity").asInt()).isEqualTo(32);
    JsonNode models = Api.json(api.get("/api/models")).path("models");
    assertThat(models).hasSize(2);
    JsonNode d = models.get(0);
    assertThat(d.path("id").asText()).isEqualTo("tiny-marigold-depth");
    assertThat(d.path("tasks").toString()).isEqualTo("[\"depth\"]");
    // the tiny index declares no defaults: run.py's E2E-FT ones
    assertThat(d.path("defaults").path("depth").toString())
        .isEqualTo("{\"processing_res\":768,\"ensemble_size\":1,\"denoising_steps\":1,\"noise\":\"zeros\"}");
  }

  @Test
  void servesTheSinglePageWithoutExternalResources() {
    HttpResponse<byte[]> r = api.get("/");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
    assertThat(r.headers().firstValue("Content-Security-Policy").orElseThrow()).startsWith("default-src 'self'");
    String html = new String(r.body(), StandardCharsets.UTF_8);
    assertThat(html).contains("id=\"file\"", "id=\"slider\"", "id=\"advanced\"", "id=\"dl-png16\"")
        .doesNotContain("http://", "https://", "//cdn");
  }

  // ---- errors ----------------------------------------------------------------------------------------------------

  @Test
  void rejectsAFormWithoutAnImageWith400() {
    assertError(api.post("/api/predict", new Api.Form().field("task", "depth")), 400, "'image'");
  }

  @Test
  void rejectsBadFieldsWith400() {
    assertError(api.post("/api/predict", new Api.Form().image(CATS).field("processing_res", "big")), 400,
        "processing_res must be an integer");
    assertError(api.post("/api/predict", new Api.Form().image(CATS).field("processing_res", 4096)), 400,
        "processing_res must be in 0..512");
    assertError(api.post("/api/predict", new Api.Form().image(CATS).field("ensemble_size", 0)), 400,
        "ensemble_size must be in 1..20");
    assertError(api.post("/api/predict", new Api.Form().image(CATS).field("model", "nope")), 400,
        "unknown model 'nope' (loaded: tiny-marigold-depth, tiny-marigold-normals)");
    assertError(api.post("/api/predict", new Api.Form().image(CATS).field("model", "tiny-marigold-depth")
        .field("task", "normals")), 400, "does not predict normals");
    assertError(api.post("/api/predict", new Api.Form().image(CATS).field("task", "normals").field("format", "png16")),
        400, "png16");
    assertError(api.post("/api/predict", new Api.Form().image(CATS).field("noise", "pink")), 400, "unknown noise");
  }

  @Test
  void rejectsACorruptImageWith400() throws IOException {
    byte[] png = Files.readAllBytes(CATS);
    byte[] truncated = Arrays.copyOf(png, png.length / 2);     // a valid header, half the pixel data
    assertError(api.post("/api/predict", new Api.Form().file("image", "broken.png", "image/png", truncated)), 400,
        "broken.png");
  }

  @Test
  void rejectsAnUploadOverTheLimitWith413() {
    byte[] big = new byte[(int) UPLOAD_LIMIT + 200_000];
    assertError(api.post("/api/predict", new Api.Form().file("image", "big.png", "image/png", big)), 413,
        "upload too large");
  }

  @Test
  void rejectsAnImageWithTooManyPixelsWith413() throws IOException {
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    ImageIO.write(new BufferedImage(2500, 2000, BufferedImage.TYPE_BYTE_GRAY), "png", png);   // 5 MP of zeros
    assertError(api.post("/api/predict", new Api.Form().file("image", "wide.png", "image/png", png.toByteArray())),
        413, "2500x2000");
  }

  @Test
  void rejectsWhatIsNotAnImageWith415() throws IOException {
    assertError(api.post("/api/predict", new Api.Form().file("image", "notes.txt", "text/plain",
        "just text".getBytes(StandardCharsets.UTF_8))), 415, "not an image");
    ByteArrayOutputStream gif = new ByteArrayOutputStream();
    ImageIO.write(new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_INDEXED), "gif", gif);
    assertError(api.post("/api/predict", new Api.Form().file("image", "a.gif", "image/gif", gif.toByteArray())), 415,
        "'gif'");
    assertError(api.send("/api/predict", "POST", "application/json", "{}".getBytes(StandardCharsets.UTF_8), Map.of()),
        415, "multipart/form-data");
  }

  @Test
  void answersUnknownPathsAndResultsWith404() {
    assertError(api.get("/etc/passwd"), 404, "no such page");
    assertError(api.get("/api/results/0123456789abcdef0123456789abcdef/npy"), 404, "no result");
    assertError(api.get("/api/results/../../etc/passwd"), 404, "");
  }

  @Test
  void answersWrongMethodsWith405() {
    HttpResponse<byte[]> r = api.get("/api/predict");
    assertError(r, 405, "use POST");
    assertThat(r.headers().firstValue("Allow")).hasValue("POST");
    assertError(api.send("/api/health", "POST", "text/plain", new byte[1], Map.of()), 405, "use GET");
  }

  // ---- helpers ---------------------------------------------------------------------------------------------------

  static void assertError(HttpResponse<byte[]> r, int status, String messagePart) {
    String body = new String(r.body(), StandardCharsets.UTF_8);
    assertThat(r.statusCode()).as(body).isEqualTo(status);
    JsonNode j = Api.json(r);
    assertThat(j.path("status").asInt()).isEqualTo(status);
    assertThat(j.path("error").asText()).contains(messagePart);
  }

  static byte[] download(JsonNode j, String kind) {
    HttpResponse<byte[]> r = api.get(j.path("links").path(kind).asText());
    assertThat(r.statusCode()).as(kind).isEqualTo(200);
    return r.body();
  }

  static float[] directDepth(Path image) {
    try (PointerScope scope = new PointerScope()) {
      Prediction p = depthPipe.predict(ImageInput.readRgb(image), depthPipe.defaults(Modality.DEPTH)
          .withProcessingRes(0), MarigoldPipeline.seedLikeRunPy(0));
      return p.values();
    }
  }

  static float[] npyFloats(byte[] npy) {
    try {
      Path tmp = Files.createTempFile("serve-test", ".npy");
      try {
        Files.write(tmp, npy);
        return Npy.read(tmp).toFloats();
      } finally {
        Files.delete(tmp);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static double maxAbsDiff(float[] a, float[] b) {
    assertThat(a).hasSameSizeAs(b);
    double m = 0;
    for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
    return m;
  }

  static BufferedImage png(byte[] data) {
    try {
      BufferedImage img = ImageIO.read(new ByteArrayInputStream(data));
      assertThat(img).as("a PNG").isNotNull();
      return img;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] rgbPixels(byte[] pngData) {
    BufferedImage img = png(pngData);
    int[] px = img.getRaster().getPixels(0, 0, img.getWidth(), img.getHeight(), (int[]) null);
    assertThat(img.getRaster().getNumBands()).isEqualTo(3);
    byte[] out = new byte[px.length];
    for (int i = 0; i < px.length; i++) out[i] = (byte) px[i];
    return out;
  }

  static int[] grey16(byte[] pngData) {
    BufferedImage img = png(pngData);
    assertThat(img.getColorModel().getComponentSize(0)).isEqualTo(16);
    return img.getRaster().getSamples(0, 0, img.getWidth(), img.getHeight(), 0, (int[]) null);
  }

  /**
   * The golden colourised depth (uint8 H x W x 3), with the pipeline tests' rule: a Spectral LUT index flips where a
   * value sits on a bin edge, so at most max(the golden's own fp32-vs-fp64 mismatch count, 0.1 %) of the values may
   * differ, by at most 3 units.
   */
  static void assertColoredMatchesGolden(byte[] rgb, String what) {
    assertColoredMatchesGolden(golden, rgb, what);
  }

  static void assertColoredMatchesGolden(Golden golden, byte[] rgb, String what) {
    Tensor expected = golden.tensor("final.depth_colored");
    byte[] want = Tensors.toBytes(expected);
    JsonNode tol = golden.json().path("tolerances").path("final.depth_colored");
    assertThat(rgb).as(what + " size").hasSize(want.length);
    int mismatched = 0;
    int maxAbs = 0;
    for (int i = 0; i < want.length; i++) {
      int d = Math.abs((rgb[i] & 0xff) - (want[i] & 0xff));
      if (d != 0) mismatched++;
      maxAbs = Math.max(maxAbs, d);
    }
    int allowed = Math.max(tol.path("mismatched_elements").asInt(0), (int) Math.ceil(want.length * 0.001));
    System.out.printf("%s: %d of %d values differ from the golden (allowed %d), by at most %d units%n", what,
        mismatched, want.length, allowed, maxAbs);
    assertThat(mismatched).as(what + ": values differing from the golden").isLessThanOrEqualTo(allowed);
    assertThat(maxAbs).as(what + ": largest difference").isLessThanOrEqualTo(Math.max(3, tol.path("max_abs").asInt(0)));
  }
}
