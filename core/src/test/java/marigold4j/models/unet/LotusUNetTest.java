package marigold4j.models.unet;

import static marigold4j.testing.Golden.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import marigold4j.testing.Golden;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Lotus' UNet (SD2 UNet with a {@code projection} class embedding of width 4: the task switcher) against goldens of
 * diffusers' {@code UNet2DConditionModel} as Lotus' pipelines call it, on the four tiny Lotus checkpoints (G: 8 input
 * channels, D: 4). Tolerance: each case's suggested atol for the output (20x the reference's float32-vs-float64
 * deviation); the recorded intermediates (all smaller in magnitude and earlier in the network) get the same bound.
 */
class LotusUNetTest {
  private static UNet2DConditionModel load(String checkpoint) {
    Engine.init();
    Engine.setThreads(2);
    return UNet2DConditionModel.load(Golden.fixtures().resolve("checkpoints/" + checkpoint + "/unet"));
  }

  private static Golden golden(String checkpoint, String caseName) {
    return Golden.load("lotus/modules/" + checkpoint, caseName);
  }

  @ParameterizedTest
  @ValueSource(strings = {"tiny-lotus-depth-g", "tiny-lotus-depth-d", "tiny-lotus-normal-g", "tiny-lotus-normal-d"})
  void switchesBetweenTheAnnotationAndTheReconstructionTaskAtT999(String checkpoint) {
    try (UNet2DConditionModel unet = load(checkpoint); NoGradGuard ng = new NoGradGuard()) {
      Golden g = golden(checkpoint, "unet_task_switch_t999");
      Map<String, Tensor> seen = new LinkedHashMap<>();
      Tensor out;
      try (var hook = unet.hook(seen::put)) {
        out = unet.forward(g.in("sample"), g.in("timestep"), g.in("encoder_hidden_states"), g.in("class_labels"));
      }
      double atol = g.atol("sample");
      assertClose(out, g.out("sample"), atol, checkpoint + " sample");
      for (String name : new String[] {"time_embedding", "class_embedding", "conv_in", "mid_block"}) {
        assertThat(seen).as("reported activations").containsKey(name);
        assertClose(seen.get(name), g.out(name), atol, checkpoint + " " + name);
      }
      // the two rows differ only in their task: the embedding must matter far beyond the tolerance
      double rows = Tensors.maxAbsDiff(out.narrow(0, 0, 1), out.narrow(0, 1, 1));
      assertThat(rows).isGreaterThan(100 * atol);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"tiny-lotus-depth-g", "tiny-lotus-depth-d", "tiny-lotus-normal-g", "tiny-lotus-normal-d"})
  void reproducesTheTaskSwitchAtT500AndAnOddLatent(String checkpoint) {
    try (UNet2DConditionModel unet = load(checkpoint); NoGradGuard ng = new NoGradGuard()) {
      for (String caseName : new String[] {"unet_task_switch_t500", "unet_odd_latent_t999"}) {
        Golden g = golden(checkpoint, caseName);
        Tensor out = unet.forward(g.in("sample"), g.in("timestep"), g.in("encoder_hidden_states"),
            g.in("class_labels"));
        assertClose(out, g.out("sample"), g.atol("sample"), checkpoint + " " + caseName);
      }
    }
  }

  /** diffusers raises {@code ValueError("class_labels should be provided when num_class_embeds > 0")}. */
  @ParameterizedTest
  @ValueSource(strings = {"tiny-lotus-depth-g", "tiny-lotus-depth-d", "tiny-lotus-normal-g", "tiny-lotus-normal-d"})
  void refusesACallWithoutTheTaskEmbedding(String checkpoint) {
    Golden expected = Golden.load("lotus/modules/" + checkpoint, "unet_missing_class_labels");
    assertThat(expected.json().path("expected_error").path("type").asText()).isEqualTo("ValueError");
    Golden g = golden(checkpoint, "unet_task_switch_t999");
    try (UNet2DConditionModel unet = load(checkpoint); NoGradGuard ng = new NoGradGuard()) {
      assertThatThrownBy(() -> unet.forward(g.in("sample"), g.in("timestep"), g.in("encoder_hidden_states")))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("class labels are required");
    }
  }
}
