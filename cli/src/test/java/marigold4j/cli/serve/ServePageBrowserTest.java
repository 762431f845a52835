package marigold4j.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import marigold4j.estimator.marigold.MarigoldEstimator;
import marigold4j.pipeline.MarigoldPipeline;
import marigold4j.pipeline.Modality;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;

/**
 * The demo page in a real headless Chromium: pick a fixture photo, wait for the result image, and check its pixels
 * (read back from the page through a canvas) against the original pipeline's colourised depth
 * (testdata/pipelines/depth_e2e_res0). Skipped only when no Chromium binary is installed.
 */
class ServePageBrowserTest {
  static final Path CATS = Golden.fixtures().resolve("images/photo_coco_cats_128x96.png");
  static final Path SCREENSHOT = Path.of("target", "serve-screenshot.png");

  /** The result image's RGB values as the browser decoded them. */
  static final String RESULT_PIXELS = """
      (() => {
        const img = document.getElementById('result');
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d');
        g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        const rgb = [];
        for (let i = 0; i < d.length; i += 4) rgb.push(d[i], d[i + 1], d[i + 2]);
        return {width: c.width, height: c.height, rgb: rgb};
      })()""";

  @Test
  void showsTheGoldenDepthOfAnUploadedPhotoInABrowser() throws Exception {
    Optional<Path> binary = Chromium.binary();
    assumeTrue(binary.isPresent(), "no chromium binary (apt-get install -y chromium chromium-driver)");
    Golden golden = Golden.load("pipelines", "depth_e2e_res0");
    try (MarigoldPipeline pipe = MarigoldPipeline.load(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth"));
        DemoServer server = DemoServer.start(List.of(new EstimatorServedModel("tiny-marigold-depth",
            new MarigoldEstimator(pipe, Modality.DEPTH))), DemoServer.Config.defaults().withPort(0));
        Chromium browser = Chromium.launch(binary.get(), Path.of("target", "chromium"))) {
      Chromium.Page page = browser.newPage(1100, 760);
      page.navigate(server.uri());
      page.waitFor("document.body && document.body.dataset.ready === '1'", Duration.ofSeconds(30));
      // the advanced fold starts from the checkpoint's defaults (the tiny index declares none: run.py's 768)
      assertThat(page.eval("document.getElementById('processing_res').value").asText()).isEqualTo("768");
      assertThat(page.eval("document.getElementById('model-row').hidden").asBoolean()).as("one checkpoint").isTrue();
      page.eval("document.querySelector('#advanced summary').click()");
      page.eval("document.getElementById('processing_res').value = '0'");   // the golden case's native resolution

      page.setFile("file", CATS);                                             // choosing a file starts the estimate
      page.waitFor("['done', 'error'].includes(document.body.dataset.state)", Duration.ofMinutes(2));
      assertThat(page.eval("document.body.dataset.state").asText())
          .as(page.eval("document.getElementById('status').textContent").asText()).isEqualTo("done");

      JsonNode px = page.eval(RESULT_PIXELS);
      assertThat(px.path("width").asInt()).isEqualTo(128);
      assertThat(px.path("height").asInt()).isEqualTo(96);
      byte[] rgb = new byte[px.path("rgb").size()];
      for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) px.path("rgb").get(i).asInt();
      DemoServerTest.assertColoredMatchesGolden(golden, rgb, "result image in the browser");

      assertThat(page.eval("document.getElementById('meta').textContent").asText()).startsWith("Processed in ")
          .contains("128\u00d796", "processing res 0");
      for (String link : List.of("dl-colored", "dl-png16", "dl-npy")) {
        assertThat(page.eval("document.getElementById('" + link + "').getAttribute('href')").asText())
            .as(link).startsWith("/api/results/");
      }
      page.eval("const s = document.getElementById('slider'); s.value = 35;"
          + " s.dispatchEvent(new Event('input')); true");
      assertThat(page.eval("document.getElementById('cmp-result').style.clipPath").asText())
          .isEqualTo("inset(0px 0px 0px 35%)");

      Files.createDirectories(SCREENSHOT.getParent());
      Files.write(SCREENSHOT, page.screenshot());
      assertThat(Files.size(SCREENSHOT)).isPositive();
    }
  }

  /** An intrinsics checkpoint: the page's Intrinsics task shows every target side by side, and the uncertainty. */
  @Test
  void showsIntrinsicTargetsSideBySideWithUncertainty() throws Exception {
    Optional<Path> binary = Chromium.binary();
    assumeTrue(binary.isPresent(), "no chromium binary (apt-get install -y chromium chromium-driver)");
    Path ckpt = Golden.fixtures().resolve("checkpoints/tiny-marigold-iid-appearance");
    try (DemoServer server = DemoServer.start(List.of(new EstimatorServedModel("iid-appearance",
            marigold4j.estimator.Estimators.load(ckpt, "iid", marigold4j.pipeline.Precision.FP32, "cpu"))),
            DemoServer.Config.defaults().withPort(0));
        Chromium browser = Chromium.launch(binary.get(), Path.of("target", "chromium"))) {
      Chromium.Page page = browser.newPage(1100, 900);
      page.navigate(server.uri());
      page.waitFor("document.body && document.body.dataset.ready === '1'", Duration.ofSeconds(30));
      assertThat(page.eval("document.querySelector('input[value=intrinsics]').checked").asBoolean())
          .as("the only task this model has").isTrue();
      assertThat(page.eval("document.querySelector('input[value=depth]').disabled").asBoolean()).isTrue();
      page.eval("document.querySelector('#advanced summary').click()");
      page.eval("document.getElementById('processing_res').value = '32';"
          + " document.getElementById('ensemble_size').value = '2';"
          + " document.getElementById('denoising_steps').value = '1';"
          + " document.getElementById('output_uncertainty').checked = true; true");
      assertThat(page.eval("document.getElementById('uncertainty-row').hidden").asBoolean()).isFalse();
      page.setFile("file", CATS);
      page.waitFor("['done', 'error'].includes(document.body.dataset.state)", Duration.ofMinutes(2));
      assertThat(page.eval("document.body.dataset.state").asText())
          .as(page.eval("document.getElementById('status').textContent").asText()).isEqualTo("done");
      JsonNode captions = page.eval("[...document.querySelectorAll('#targets figcaption')].map(c => c.textContent)");
      assertThat(captions.toString()).isEqualTo("[\"albedo\",\"material\",\"roughness\",\"metallicity\"]");
      assertThat(page.eval("[...document.querySelectorAll('#targets img')].every(i => i.naturalWidth === 128)")
          .asBoolean()).as("every target image loaded at the input size").isTrue();
      assertThat(page.eval("document.getElementById('uncertainty-fig').hidden").asBoolean()).isFalse();
      assertThat(page.eval("document.getElementById('uncertainty').naturalWidth").asInt()).isEqualTo(128);
      Files.createDirectories(SCREENSHOT.getParent());
      Files.write(Path.of("target", "serve-intrinsics-screenshot.png"), page.screenshot());
    }
  }
}
