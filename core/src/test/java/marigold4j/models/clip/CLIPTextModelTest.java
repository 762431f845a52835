package marigold4j.models.clip;

import static marigold4j.testing.Golden.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ConfigJson;
import marigold4j.nn.Parameter;
import marigold4j.nn.StateDicts;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import marigold4j.weights.SafeTensors;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Goldens: transformers 4.37.2 CLIPTextModel on tiny-marigold-depth's text_encoder (fp32, CPU). */
class CLIPTextModelTest {
  static final String CASES = "modules/tiny-marigold-depth";
  static Path textEncoderDir;
  static CLIPTextModel model;
  static final Map<String, CLIPTextModel> MODELS = new java.util.concurrent.ConcurrentHashMap<>();

  @BeforeAll
  static void load() {
    Golden.load(CASES, "text_empty_max_length");                 // boots the engine with the test thread count
    textEncoderDir = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth/text_encoder");
    model = CLIPTextModel.load(textEncoderDir);
  }

  /** tiny-sd2-4ch has its own random text encoder (safetensors); tiny-marigold-normals' is a .bin. */
  static Stream<Arguments> textCases() {
    List<Arguments> out = new ArrayList<>();
    for (String m : List.of("tiny-marigold-depth", "tiny-sd2-4ch")) {
      out.add(Arguments.of(m, "text_empty_do_not_pad"));
      out.add(Arguments.of(m, "text_empty_max_length"));
      out.add(Arguments.of(m, "text_photo_of_a_cat_max_length"));
    }
    return out.stream();
  }

  /**
   * Inference's empty prompt [BOS, EOS] (with every layer's hidden state), training's empty prompt padded with "!"
   * to 77, and a padded non-empty prompt.
   */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("textCases")
  void reproducesTransformersLastHiddenStatePooledOutputAndHiddenStates(String checkpoint, String name) {
    CLIPTextModel m = MODELS.computeIfAbsent(checkpoint,
        c -> CLIPTextModel.load(Golden.fixtures().resolve("checkpoints").resolve(c).resolve("text_encoder")));
    Golden g = Golden.load("modules/" + checkpoint, name);
    boolean withHiddenStates = name.equals("text_empty_do_not_pad");   // the case that records every layer
    CLIPTextModel.Output out;
    try (NoGradGuard ng = new NoGradGuard()) {
      out = m.forward(g.in("input_ids"), withHiddenStates);
      assertClose(m.forward(g.in("input_ids")), g.out("last_hidden_state"), g.atol("last_hidden_state"),
          "forward(ids)");
    }
    assertClose(out.lastHiddenState(), g.out("last_hidden_state"), g.atol("last_hidden_state"), "last_hidden_state");
    assertClose(out.poolerOutput(), g.out("pooler_output"), g.atol("pooler_output"), "pooler_output");
    if (withHiddenStates) {
      assertThat(out.hiddenStates()).hasSize(m.config().numHiddenLayers() + 1);
      for (int i = 0; i < out.hiddenStates().size(); i++) {
        String key = "hidden_states." + i;
        assertClose(out.hiddenStates().get(i), g.out(key), g.atol(key), key);
      }
    } else {
      assertThat(out.hiddenStates()).isEmpty();
    }
  }

  @Test
  void encodesTokenizerOutputLikeThePipeline() {
    Golden g = Golden.load(CASES, "text_photo_of_a_cat_max_length");
    CLIPTokenizer tok = CLIPTokenizer.load(textEncoderDir.resolveSibling("tokenizer"));
    Tensor ids = tok.encode("a photo of a cat", CLIPTokenizer.Padding.MAX_LENGTH, true).idsTensor();
    assertThat(Tensors.toLongs(ids)).containsExactly(Tensors.toLongs(g.in("input_ids")));
    try (NoGradGuard ng = new NoGradGuard()) {
      assertClose(model.forward(ids), g.out("last_hidden_state"), g.atol("last_hidden_state"), "last_hidden_state");
    }
  }

  @Test
  void matchesTheFullSizeStableDiffusion2ManifestWithoutAllocating() {
    JsonNode manifest = Golden.readJson(Golden.fixtures().resolve("manifests/marigold-depth-v1-0_text_encoder.json"));
    CLIPTextConfig config = ConfigJson.mapper().convertValue(manifest.path("config"), CLIPTextConfig.class);
    CLIPTextModel full = CLIPTextModel.fromConfig(config);
    List<String> expected = new ArrayList<>();
    Map<String, List<Long>> shapes = new LinkedHashMap<>();
    for (JsonNode e : manifest.path("state_dict")) {
      expected.add(e.path("name").asText());
      List<Long> s = new ArrayList<>();
      e.path("shape").forEach(d -> s.add(d.asLong()));
      shapes.put(e.path("name").asText(), s);
    }
    Map<String, Parameter> slots = full.stateDictSlots();
    assertThat(slots.keySet()).containsExactlyElementsOf(expected);
    slots.forEach((k, p) -> assertThat(p.shape()).as(k).containsExactly(
        shapes.get(k).stream().mapToLong(Long::longValue).toArray()));
    assertThat(full.numParameters()).isEqualTo(manifest.path("num_parameters").asLong()).isEqualTo(340_387_840L);
    List<String> nonPersistent = new ArrayList<>();
    full.namedParameters().forEach((k, p) -> {
      if (p.kind() == Parameter.Kind.NON_PERSISTENT_BUFFER) nonPersistent.add(k);
    });
    assertThat(nonPersistent).containsExactly("text_model.embeddings.position_ids");
    assertThat(full.namedParameters().values()).noneMatch(Parameter::isLoaded);
  }

  @Test
  void acceptsOldCheckpointsCarryingPositionIds() {
    Map<String, Tensor> sd = new LinkedHashMap<>(SafeTensors.load(textEncoderDir.resolve("model.safetensors")));
    sd.put("text_model.embeddings.position_ids", torch.arange(new org.bytedeco.pytorch.Scalar(77L)).unsqueeze(0));
    CLIPTextModel m = CLIPTextModel.fromConfig(model.config());
    StateDicts.loadStrict(m, sd, "old text_encoder", torch.ScalarType.Float);
    Golden g = Golden.load(CASES, "text_empty_do_not_pad");
    try (NoGradGuard ng = new NoGradGuard()) {
      assertClose(m.forward(g.in("input_ids")), g.out("last_hidden_state"), g.atol("last_hidden_state"), "output");
    }
  }

  @Test
  void refusesAnUnsupportedActivationNamingTheKey(@TempDir Path dir) throws IOException {
    ObjectNode cfg = (ObjectNode) Golden.readJson(textEncoderDir.resolve("config.json"));
    cfg.put("hidden_act", "relu");
    Files.writeString(dir.resolve("config.json"), cfg.toString());
    assertThatThrownBy(() -> CLIPTextModel.load(dir))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("config.json")
        .hasMessageContaining("hidden_act")
        .hasMessageContaining("relu");
  }

  @Test
  void buildsNoAutogradGraphAndKeepsNativeMemoryFlatInScopes() {
    Tensor ids = Tensors.fromLongs(new long[] {49406, 320, 1125, 49407}, 1, 4);
    long before = -1;
    for (int i = 0; i < 30; i++) {
      try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
        Tensor out = model.forward(ids);
        assertThat(out.requires_grad()).isFalse();
        assertThat(out.grad_fn()).isNull();
      }
      if (i == 4) before = Pointer.totalCount();
    }
    assertThat(Pointer.totalCount()).isLessThanOrEqualTo(before);
  }
}
