package marigold4j.eval.depth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/** {@code get_pred_name} for every naming mode, including the inputs where the original raises. */
class PredictionNamesTest {
  @Test
  void namesPredictionsAsTheOriginalInEveryMode() {
    int checked = 0;
    for (JsonNode c : DepthUnits.JSON.get("pred_names")) {
      PredictionNames.Mode mode = PredictionNames.Mode.valueOf(c.get("mode").asText().toUpperCase(Locale.ROOT));
      String rgb = c.get("rgb_basename").asText();
      String want = c.get("pred_basename").asText();
      if (want.startsWith("ERROR")) {
        assertThatThrownBy(() -> PredictionNames.basename(rgb, mode, ".npy")).as(rgb)
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(rgb);
      } else {
        assertThat(PredictionNames.basename(rgb, mode, ".npy")).as("%s %s", mode, rgb).isEqualTo(want);
      }
      checked++;
    }
    assertThat(checked).isEqualTo(28);
  }

  @Test
  void keepsTheRgbFolderInThePredictionPath() {
    assertThat(PredictionNames.relativePath("test/kitchen_0004/rgb_0001.png", PredictionNames.Mode.RGB_ID))
        .isEqualTo("test/kitchen_0004/pred_0001.npy");
    assertThat(PredictionNames.relativePath("000300.jpg", PredictionNames.Mode.ID)).isEqualTo("pred_000300.npy");
    assertThat(PredictionNames.relativePath("/a.png", PredictionNames.Mode.ID)).isEqualTo("/pred_a.npy");
  }

  @Test
  void splitsTheExtensionAsOsPathSplitext() {
    assertThat(PredictionNames.stripExtension("pred_a.b.png")).isEqualTo("pred_a.b");
    assertThat(PredictionNames.stripExtension(".hidden")).isEqualTo(".hidden");
    assertThat(PredictionNames.stripExtension("pred_")).isEqualTo("pred_");
  }
}
