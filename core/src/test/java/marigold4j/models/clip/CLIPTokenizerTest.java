package marigold4j.models.clip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import marigold4j.models.clip.CLIPTokenizer.Encoding;
import marigold4j.models.clip.CLIPTokenizer.Padding;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Golden: transformers 4.37.2 CLIPTokenizer (no ftfy) on each checkpoint's tokenizer/ files. */
class CLIPTokenizerTest {
  static final List<String> MODELS = List.of("tiny-marigold-depth", "tiny-marigold-normals", "tiny-sd2-4ch");
  static final Map<String, CLIPTokenizer> LOADED = new java.util.concurrent.ConcurrentHashMap<>();
  static CLIPTokenizer tokenizer;

  @BeforeAll
  static void load() {
    tokenizer = CLIPTokenizer.load(tokenizerDir("tiny-marigold-depth"));
  }

  static Path tokenizerDir(String model) {
    return Golden.fixtures().resolve("checkpoints").resolve(model).resolve("tokenizer");
  }

  static JsonNode cases(String model) {
    return Golden.readJson(Golden.fixtures().resolve("modules").resolve(model).resolve("tokenizer_cases.json"));
  }

  static Stream<Arguments> encodingCases() {
    List<Arguments> out = new ArrayList<>();
    for (String model : MODELS) {
      for (JsonNode c : cases(model).path("cases")) out.add(Arguments.of(model, c.path("text").toString(), c));
    }
    return out.stream();
  }

  static Stream<Arguments> tokenCases() {
    List<Arguments> out = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = cases("tiny-marigold-depth").path("tokens").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      out.add(Arguments.of(e.getKey(), e.getValue()));
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0}: \"{1}\"")
  @MethodSource("encodingCases")
  void reproducesTransformersIdsAndAttentionMask(String model, String text, JsonNode c) {
    CLIPTokenizer tok = LOADED.computeIfAbsent(model, m -> CLIPTokenizer.load(tokenizerDir(m)));
    Padding padding = switch (c.path("padding").asText()) {
      case "do_not_pad" -> Padding.DO_NOT_PAD;
      case "max_length" -> Padding.MAX_LENGTH;
      default -> throw new IllegalArgumentException(c.path("padding").asText());
    };
    boolean truncation = c.path("truncation").asBoolean();
    // A list of texts is a batch (one row per text); a null max_length means the tokenizer's model_max_length.
    boolean batch = c.path("text").isArray();
    List<String> texts = new ArrayList<>();
    if (batch) c.path("text").forEach(t -> texts.add(t.asText())); else texts.add(c.path("text").asText());
    for (int i = 0; i < texts.size(); i++) {
      Encoding e = c.path("max_length").isNull()
          ? tok.encode(texts.get(i), padding, truncation)
          : tok.encode(texts.get(i), padding, truncation, c.path("max_length").asInt());
      JsonNode ids = batch ? c.path("input_ids").get(i) : c.path("input_ids");
      JsonNode mask = batch ? c.path("attention_mask").get(i) : c.path("attention_mask");
      assertThat(e.ids()).as("input_ids").containsExactly(longs(ids));
      assertThat(e.attentionMask()).as("attention_mask").containsExactly(longs(mask));
    }
  }

  @ParameterizedTest(name = "\"{0}\"")
  @MethodSource("tokenCases")
  void reproducesTransformersBpeTokenStrings(String text, JsonNode expected) {
    List<String> want = new ArrayList<>();
    expected.forEach(t -> want.add(t.asText()));
    assertThat(tokenizer.bpeTokens(text)).containsExactlyElementsOf(want);
  }

  @Test
  void takesThePadTokenFromSpecialTokensMapOverTokenizerConfig() {
    JsonNode c = cases("tiny-marigold-depth");
    assertThat(tokenizer.padToken()).isEqualTo(c.path("pad_token").asText()).isEqualTo("!");
    assertThat(tokenizer.padTokenId()).isEqualTo(c.path("pad_token_id").asInt()).isZero();
    assertThat(tokenizer.bosTokenId()).isEqualTo(c.path("bos_token_id").asInt()).isEqualTo(49406);
    assertThat(tokenizer.eosTokenId()).isEqualTo(c.path("eos_token_id").asInt()).isEqualTo(49407);
    assertThat(tokenizer.modelMaxLength()).isEqualTo(c.path("model_max_length").asInt()).isEqualTo(77);
  }

  @Test
  void encodesTheEmptyPromptOfInferenceAsBosEos() {
    Encoding e = tokenizer.encode("", Padding.DO_NOT_PAD, true);
    assertThat(e.ids()).containsExactly(49406, 49407);
    assertThat(e.idsTensor().sizes().vec().get()).containsExactly(1, 2);
  }

  @Test
  void splitsTextAroundThePadTokenBang() {
    assertThat(tokenizer.encode("a!b", Padding.DO_NOT_PAD, true).ids()).containsExactly(49406, 320, 0, 321, 49407);
  }

  @Test
  void keepsEosLastWhenTruncatingAndReturnsLongTextWholeWithoutTruncation() {
    String text = "word ".repeat(100);
    long[] truncated = tokenizer.encode(text, Padding.MAX_LENGTH, true).ids();
    assertThat(truncated).hasSize(77);
    assertThat(truncated[76]).isEqualTo(49407);
    long[] whole = tokenizer.encode(text, Padding.MAX_LENGTH, false).ids();
    assertThat(whole).hasSize(102);
    assertThat(whole[101]).isEqualTo(49407);
  }

  @Test
  void rejectsMaxLengthTooShortForBosAndEos() {
    assertThatThrownBy(() -> tokenizer.encode("a", Padding.MAX_LENGTH, true, 1))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static long[] longs(JsonNode array) {
    long[] out = new long[array.size()];
    for (int i = 0; i < out.length; i++) out[i] = array.get(i).asLong();
    return out;
  }
}
