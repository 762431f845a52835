package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class InspectCommandTest {
  static final ObjectMapper JSON = new ObjectMapper();

  /**
   * The manifests list every state-dict key, shape and dtype of the real full-size models, recorded by instantiating
   * the original classes. A checkpoint folder holding only the real configs must be described identically.
   */
  @ParameterizedTest
  @CsvSource({
      "marigold-depth-v1-0_unet, unet, UNet2DConditionModel",
      "stable-diffusion-2_unet, unet, UNet2DConditionModel",
      "geowizard_unet, unet, UNet2DConditionModel",
      "marigold-depth-v1-0_vae, vae, AutoencoderKL",
      "marigold-depth-v1-0_text_encoder, text_encoder, CLIPTextModel",
      "geowizard_image_encoder, image_encoder, CLIPVisionModelWithProjection"})
  void expectedParamsReproduceTheFullSizeManifest(String manifest, String component, String cls, @TempDir Path dir)
      throws IOException {
    JsonNode m = Golden.readJson(Golden.fixtures().resolve("manifests/" + manifest + ".json"));
    Path checkpoint = configOnlyCheckpoint(dir, component, cls, m.get("config"));

    CliRun r = CliRun.of("inspect", "--expected-params", "--json", checkpoint.toString());

    assertThat(r.exitCode()).as(r.err()).isZero();
    JsonNode c = JSON.readTree(r.out()).path("components").path(component);
    assertThat(c.path("class").asText()).isEqualTo(cls);
    assertThat(c.path("num_parameters").asLong()).isEqualTo(m.path("num_parameters").asLong());
    assertThat(entries(c.path("parameters"))).containsExactlyElementsOf(entries(m.path("state_dict")));
  }

  @Test
  void describesTheStoredWeightsOfSafetensorsAndBinCheckpointsAlike() throws IOException {
    Path ckpts = Golden.fixtures().resolve("checkpoints");
    JsonNode safetensors = JSON.readTree(CliRun.of("inspect", "--json", ckpts.resolve("tiny-marigold-depth")
        .toString()).out());
    JsonNode bin = JSON.readTree(CliRun.of("inspect", "--json", ckpts.resolve("tiny-marigold-normals")
        .toString()).out());
    JsonNode expected = JSON.readTree(CliRun.of("inspect", "--json", "--expected-params",
        ckpts.resolve("tiny-marigold-depth").toString()).out());

    assertThat(safetensors.path("pipeline").asText()).isEqualTo("MarigoldPipeline");
    for (String comp : List.of("unet", "vae", "text_encoder")) {
      List<String> want = entries(expected.path("components").path(comp).path("parameters"));
      assertThat(entries(safetensors.path("components").path(comp).path("parameters")))
          .as(comp + " (safetensors)").containsExactlyInAnyOrderElementsOf(want);
      assertThat(entries(bin.path("components").path(comp).path("parameters")))
          .as(comp + " (.bin)").containsExactlyInAnyOrderElementsOf(want);
      assertThat(bin.path("components").path(comp).path("num_parameters").asLong())
          .isEqualTo(expected.path("components").path(comp).path("num_parameters").asLong())
          .isPositive();
    }
    assertThat(safetensors.path("components").path("tokenizer").path("class").asText()).isEqualTo("CLIPTokenizer");
    assertThat(bin.path("components").path("unet").path("files").get(0).asText())
        .isEqualTo("diffusion_pytorch_model.bin");
  }

  @Test
  void printsAReadableTable() {
    CliRun r = CliRun.of("inspect", Golden.fixtures().resolve("checkpoints/tiny-marigold-depth").toString());
    assertThat(r.exitCode()).isZero();
    assertThat(r.out()).contains("MarigoldPipeline").containsPattern("unet\\s+UNet2DConditionModel\\s+[\\d,]+\\s+float32")
        .contains("scheduler").contains("total");
  }

  @Test
  void aFolderThatIsNoCheckpointGivesOneClearLine(@TempDir Path dir) {
    CliRun r = CliRun.of("inspect", dir.toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).startsWith("error: " + dir).contains("neither model_index.json nor config.json")
        .doesNotContain("Exception");
  }

  @Test
  void anUnknownBlockTypeIsRejectedNamingTheKey(@TempDir Path dir) throws IOException {
    JsonNode m = Golden.readJson(Golden.fixtures().resolve("manifests/marigold-depth-v1-0_unet.json"));
    ObjectNode config = m.get("config").deepCopy();
    config.putArray("down_block_types").add("CrossAttnDownBlock2D").add("SimpleCrossAttnDownBlock2D")
        .add("CrossAttnDownBlock2D").add("DownBlock2D");
    Path checkpoint = configOnlyCheckpoint(dir, "unet", "UNet2DConditionModel", config);
    CliRun r = CliRun.of("inspect", "--expected-params", checkpoint.toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains("config.json").contains("down_block_types").contains("SimpleCrossAttnDownBlock2D");
  }

  private static Path configOnlyCheckpoint(Path dir, String component, String cls, JsonNode config)
      throws IOException {
    ObjectNode index = JSON.createObjectNode().put("_class_name", "MarigoldPipeline");
    index.putArray(component).add(component.equals("text_encoder") || component.equals("image_encoder")
        ? "transformers" : "diffusers").add(cls);
    Files.writeString(dir.resolve("model_index.json"), index.toString());
    Files.createDirectories(dir.resolve(component));
    ObjectNode withClass = config.deepCopy();
    withClass.put("_class_name", cls);
    Files.writeString(dir.resolve(component).resolve("config.json"), withClass.toString());
    return dir;
  }

  private static List<String> entries(JsonNode list) {
    List<String> out = new ArrayList<>();
    list.forEach(p -> out.add(p.path("name").asText() + " " + p.path("shape") + " " + p.path("dtype").asText()));
    return out;
  }
}
