package marigold4j.models.unet;

import static marigold4j.testing.Golden.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import marigold4j.testing.Golden;
import marigold4j.testing.NativePointers;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The UNet against goldens of diffusers 0.30.2's UNet2DConditionModel on the tiny checkpoints, each within the
 * case's suggested tolerance (20x the reference's own float32-vs-float64 deviation).
 */
class UNet2DConditionModelTest {
  static UNet2DConditionModel depth;
  static UNet2DConditionModel sd2FourChannel;

  @BeforeAll
  static void loadModels() {
    Golden.fixtures();
    marigold4j.torch.Engine.setThreads(2);
    depth = UNet2DConditionModel.load(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth/unet"));
    sd2FourChannel = UNet2DConditionModel.load(Golden.fixtures().resolve("checkpoints/tiny-sd2-4ch/unet"));
  }

  private static void assertReproduces(UNet2DConditionModel unet, String checkpoint, String caseName) {
    Golden g = Golden.load("modules/" + checkpoint, caseName);
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor out = unet.forward(g.in("sample"), g.in("timestep"), g.in("encoder_hidden_states"));
      assertThat(out.requires_grad()).as("builds no autograd graph").isFalse();
      assertClose(out, g.out("sample"), g.atol("sample"), checkpoint + "/" + caseName);
    }
  }

  @Test
  void reproducesUnetAtT999WithEmptyTextEmbedding() {
    assertReproduces(depth, "tiny-marigold-depth", "unet_t999_empty_text");
  }

  @Test
  void reproducesUnetAtT500WithMaxLengthTextEmbedding() {
    assertReproduces(depth, "tiny-marigold-depth", "unet_t500_max_length");
  }

  @Test
  void reproducesUnetWithOneTimestepPerSample() {
    assertReproduces(depth, "tiny-marigold-depth", "unet_per_sample_timesteps");
  }

  @Test
  void upsamplesToTheSkipConnectionSizeForAnOddLatent() {
    assertReproduces(depth, "tiny-marigold-depth", "unet_odd_latent");
  }

  @ParameterizedTest
  @ValueSource(strings = {"unet_t999_empty_text", "unet_t500_max_length", "unet_per_sample_timesteps",
      "unet_odd_latent"})
  void reproducesTheFourChannelSd2Unet(String caseName) {
    assertReproduces(sd2FourChannel, "tiny-sd2-4ch", caseName);
  }

  @Test
  void reproducesEveryRecordedIntermediateActivation() {
    Golden g = Golden.load("modules/tiny-marigold-depth", "unet_intermediates");
    Map<String, Tensor> seen = new LinkedHashMap<>();
    Tensor out;
    try (NoGradGuard ng = new NoGradGuard(); var hook = depth.hook(seen::put)) {
      out = depth.forward(g.in("sample"), g.in("timestep"), g.in("encoder_hidden_states"));
    }
    assertClose(out, g.out("sample"), g.atol("sample"), "sample");
    int compared = 0;
    for (String key : g.tensors().keySet()) {
      if (!key.startsWith("out.intermediate.")) continue;
      String name = key.substring("out.intermediate.".length());
      assertThat(seen).as("activations reported by the hook").containsKey(name);
      assertClose(seen.get(name), g.tensor(key), g.atol("intermediate." + name), name);
      compared++;
    }
    assertThat(compared).isEqualTo(18);
  }

  @Test
  void keepsNativeMemoryFlatInsideACallersPointerScope() {
    Golden g = Golden.load("modules/tiny-marigold-depth", "unet_t999_empty_text");
    try (NoGradGuard ng = new NoGradGuard()) {
      NativePointers.assertFlatOverScopedRounds(4, "scoped forward", () -> {
        Tensor out = depth.forward(g.in("sample"), g.in("timestep"), g.in("encoder_hidden_states"));
        assertThat(Tensors.shape(out)).containsExactly(2, 4, 12, 16);
      });
    }
  }
}
