package marigold4j.models.unet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.nn.Parameter;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Config parsing, rejection of unsupported options, and the expected state dicts of the real full-size UNets. */
class UNet2DConditionConfigTest {
  private static final Path TINY_DEPTH_CONFIG =
      Golden.fixtures().resolve("checkpoints/tiny-marigold-depth/unet/config.json");

  private static JsonNode manifest(String name) {
    return Golden.readJson(Golden.fixtures().resolve("manifests/" + name + ".json"));
  }

  /** fromConfig(manifest config) must list exactly the manifest's keys, in order, with its shapes and count. */
  private static void assertMatchesManifest(String name, long expectedParameters) {
    JsonNode m = manifest(name);
    UNet2DConditionModel unet =
        UNet2DConditionModel.fromConfig(UNet2DConditionConfig.fromJson(m.get("config"), name + ".json"));
    List<String> expectedKeys = new ArrayList<>();
    List<String> expectedShapes = new ArrayList<>();
    for (JsonNode e : m.get("state_dict")) {
      expectedKeys.add(e.get("name").asText());
      expectedShapes.add(e.get("name").asText() + " " + e.get("shape"));
    }
    Map<String, Parameter> slots = unet.stateDictSlots();
    List<String> actualShapes = new ArrayList<>();
    slots.forEach((k, p) -> actualShapes.add(k + " " + Arrays.toString(p.shape()).replace(" ", "")));
    assertThat(new ArrayList<>(slots.keySet())).containsExactlyElementsOf(expectedKeys);
    assertThat(actualShapes).containsExactlyElementsOf(expectedShapes);
    assertThat(unet.numParameters()).isEqualTo(expectedParameters).isEqualTo(m.get("num_parameters").asLong());
    assertThat(slots.values()).noneMatch(Parameter::isLoaded);
  }

  @Test
  void listsExactlyTheMarigoldDepthStateDictWithoutAllocatingWeights() {
    assertMatchesManifest("marigold-depth-v1-0_unet", 865_922_244L);
  }

  @Test
  void listsExactlyTheStableDiffusion2StateDictWithoutAllocatingWeights() {
    assertMatchesManifest("stable-diffusion-2_unet", 865_910_724L);
  }

  @Test
  void listsExactlyTheGeoWizardStateDictWithTheProjectionClassEmbedding() {
    assertMatchesManifest("geowizard_unet", 861_186_244L);
  }

  @Test
  void readsGeoWizardsProjectionClassEmbedding() {
    UNet2DConditionConfig c =
        UNet2DConditionConfig.read(Golden.fixtures().resolve("checkpoints/tiny-geowizard/unet/config.json"));
    assertThat(c.hasProjectionClassEmbedding()).isTrue();
    assertThat(c.projectionClassEmbeddingsInputDim()).isEqualTo(10);
    assertThat(UNet2DConditionConfig.read(TINY_DEPTH_CONFIG).hasProjectionClassEmbedding()).isFalse();
  }

  @Test
  void rejectsAProjectionClassEmbeddingWithoutItsInputWidth(@TempDir Path dir) throws IOException {
    ObjectNode json = (ObjectNode) Golden.readJson(TINY_DEPTH_CONFIG);
    json.put("class_embed_type", "projection");
    Path file = dir.resolve("config.json");
    Files.writeString(file, json.toString());
    assertThatThrownBy(() -> UNet2DConditionConfig.read(file))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("'projection_class_embeddings_input_dim'");
  }

  @Test
  void readsAttentionHeadDimAsThePerBlockHeadCount() {
    UNet2DConditionConfig c = UNet2DConditionConfig.read(TINY_DEPTH_CONFIG);
    assertThat(c.attentionHeads(0)).isEqualTo(2);
    assertThat(c.attentionHeads(1)).isEqualTo(4);
    assertThat(c.inChannels()).isEqualTo(8);
    assertThat(c.useLinearProjection()).isTrue();
    assertThat(c.timeEmbedDim()).isEqualTo(128);
  }

  @Test
  void acceptsASingleHeadCountForAllBlocks() {
    ObjectNode json = (ObjectNode) manifest("stable-diffusion-2_unet").get("config").deepCopy();
    json.put("attention_head_dim", 8);
    UNet2DConditionConfig c = UNet2DConditionConfig.fromJson(json, "config.json");
    assertThat(c.attentionHeads(0)).isEqualTo(8);
    assertThat(c.attentionHeads(3)).isEqualTo(8);
  }

  @Test
  void rejectsAnUnknownBlockTypeNamingTheKeyAndTheFile(@TempDir Path dir) throws IOException {
    String json = Files.readString(TINY_DEPTH_CONFIG).replace("\"DownBlock2D\"", "\"AttnDownBlock2D\"");
    Path file = dir.resolve("config.json");
    Files.writeString(file, json);
    assertThatThrownBy(() -> UNet2DConditionConfig.read(file))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("key 'down_block_types'")
        .hasMessageContaining("AttnDownBlock2D");
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "\"class_embed_type\": \"timestep\"", "\"num_attention_heads\": 8", "\"time_cond_proj_dim\": 16",
      "\"addition_embed_type\": \"text_time\"", "\"resnet_time_scale_shift\": \"scale_shift\"",
      "\"only_cross_attention\": true", "\"dual_cross_attention\": true", "\"conv_in_kernel\": 7",
      "\"upcast_attention\": false, \"mid_block_type\": \"UNetMidBlock2DSimpleCrossAttn\"",
      "\"transformer_layers_per_block\": 2", "\"center_input_sample\": true", "\"act_fn\": \"gelu\"",
      "\"encoder_hid_dim\": 32", "\"time_embedding_type\": \"fourier\"", "\"attention_type\": \"gated\""})
  void rejectsUnsupportedOptionsNamingTheKey(String override, @TempDir Path dir) throws IOException {
    String key = override.replaceAll(".*\"(\\w+)\": [^,]*$", "$1");
    ObjectNode json = (ObjectNode) Golden.readJson(TINY_DEPTH_CONFIG);
    ObjectNode patch = (ObjectNode) marigold4j.checkpoint.ConfigJson.mapper().readTree("{" + override + "}");
    json.setAll(patch);
    Path file = dir.resolve("config.json");
    Files.writeString(file, json.toString());
    assertThatThrownBy(() -> UNet2DConditionConfig.read(file))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("'" + key + "'");
  }

  @Test
  void rejectsAnExplicitlyMissingMidBlock(@TempDir Path dir) throws IOException {
    ObjectNode json = (ObjectNode) Golden.readJson(TINY_DEPTH_CONFIG);
    json.putNull("mid_block_type");
    Path file = dir.resolve("config.json");
    Files.writeString(file, json.toString());
    assertThatThrownBy(() -> UNet2DConditionConfig.read(file))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("mid_block_type");
  }

  @Test
  void loadReportsAMissingWeightsFile(@TempDir Path dir) throws IOException {
    Files.copy(TINY_DEPTH_CONFIG, dir.resolve("config.json"));
    assertThatThrownBy(() -> UNet2DConditionModel.load(dir))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining(UNet2DConditionModel.WEIGHTS_FILE);
  }
}
