package marigold4j.models.clip;

import static marigold4j.testing.Golden.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import marigold4j.checkpoint.ConfigJson;
import marigold4j.nn.Parameter;
import marigold4j.testing.Golden;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Goldens: GeoWizard's CLIP preprocessing and transformers 4.37.2 CLIPVisionModelWithProjection (tiny-geowizard). */
class CLIPVisionModelWithProjectionTest {
  static final String CASES = "modules/tiny-geowizard";
  static Path checkpoint;
  static CLIPVisionModelWithProjection model;
  static CLIPImageProcessor processor;

  @BeforeAll
  static void load() {
    Golden.load(CASES, "clip_preprocess");                      // boots the engine with the test thread count
    checkpoint = Golden.fixtures().resolve("checkpoints/tiny-geowizard");
    model = CLIPVisionModelWithProjection.load(checkpoint.resolve("image_encoder"));
    processor = CLIPImageProcessor.load(checkpoint.resolve("feature_extractor"));
  }

  @Test
  void readsCropSizeAndNormalisationFromThePreprocessorConfig() {
    assertThat(processor.cropHeight()).isEqualTo(224);
    assertThat(processor.cropWidth()).isEqualTo(224);
  }

  @Test
  void resizesTheWholeImageBicubicAntialiasedWithoutClamping() {
    Golden g = Golden.load(CASES, "clip_preprocess");
    Tensor resized = processor.resize(g.in("rgb_norm"));
    assertClose(resized, g.out("resized_01"), g.atol("resized_01"), "resized_01");
    assertThat(resized.min().item_double()).isLessThan(0);        // bicubic overshoot survives, as in torchvision
  }

  @Test
  void reproducesImageEmbedsAndEveryHiddenState() {
    Golden pre = Golden.load(CASES, "clip_preprocess");
    Golden g = Golden.load(CASES, "clip_vision");
    // The golden's encoder input: the recorded resize, normalised with the feature extractor's mean and std.
    Tensor pixels = processor.normalize(pre.out("resized_01"));
    CLIPVisionModelWithProjection.Output out;
    try (NoGradGuard ng = new NoGradGuard()) {
      out = model.forward(pixels, true);
      assertClose(model.forward(pixels), g.out("image_embeds"), g.atol("image_embeds"), "forward(pixels)");
    }
    assertClose(out.imageEmbeds(), g.out("image_embeds"), g.atol("image_embeds"), "image_embeds");
    assertClose(out.lastHiddenState(), g.out("last_hidden_state"), g.atol("last_hidden_state"), "last_hidden_state");
    assertThat(out.hiddenStates()).hasSize(model.config().numHiddenLayers() + 1);
    for (int i = 0; i < out.hiddenStates().size(); i++) {
      String key = "hidden_states." + i;
      assertClose(out.hiddenStates().get(i), g.out(key), g.atol(key), key);
    }
  }

  @Test
  void preprocessesAndEncodesTheImageAsGeoWizardDoes() {
    Golden pre = Golden.load(CASES, "clip_preprocess");
    Golden g = Golden.load(CASES, "clip_vision");
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor embeds = model.forward(processor.preprocess(pre.in("rgb_norm")));
      assertClose(embeds, g.out("image_embeds"), g.atol("image_embeds"), "image_embeds from rgb_norm");
    }
  }

  @Test
  void refusesImagesOfAnotherSize() {
    assertThatThrownBy(() -> model.forward(torch.zeros(1, 3, 112, 112)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("224");
  }

  @Test
  void matchesTheFullSizeGeoWizardImageEncoderManifestWithoutAllocating() {
    JsonNode manifest = Golden.readJson(Golden.fixtures().resolve("manifests/geowizard_image_encoder.json"));
    CLIPVisionConfig config = ConfigJson.mapper().convertValue(manifest.path("config"), CLIPVisionConfig.class);
    CLIPVisionModelWithProjection full = CLIPVisionModelWithProjection.fromConfig(config);
    List<String> expected = new ArrayList<>();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    for (JsonNode e : manifest.path("state_dict")) {
      expected.add(e.path("name").asText());
      long[] s = new long[e.path("shape").size()];
      for (int i = 0; i < s.length; i++) s[i] = e.path("shape").get(i).asLong();
      shapes.put(e.path("name").asText(), s);
    }
    Map<String, Parameter> slots = full.stateDictSlots();
    assertThat(slots.keySet()).containsExactlyElementsOf(expected);
    slots.forEach((k, p) -> assertThat(p.shape()).as(k).containsExactly(shapes.get(k)));
    assertThat(full.numParameters()).isEqualTo(manifest.path("num_parameters").asLong()).isEqualTo(303_966_208L);
    List<String> nonPersistent = new ArrayList<>();
    full.namedParameters().forEach((k, p) -> {
      if (p.kind() == Parameter.Kind.NON_PERSISTENT_BUFFER) nonPersistent.add(k);
    });
    assertThat(nonPersistent).containsExactly("vision_model.embeddings.position_ids");
    assertThat(full.namedParameters().values()).noneMatch(Parameter::isLoaded);
  }
}
