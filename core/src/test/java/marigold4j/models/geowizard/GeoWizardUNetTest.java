package marigold4j.models.geowizard;

import static marigold4j.testing.Golden.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.models.unet.UNet2DConditionModel;
import marigold4j.testing.Golden;
import marigold4j.testing.NativePointers;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * GeoWizard's UNet (projection class embedding + joint self-attention over the [depth, normal] batch) against goldens
 * of the original {@code geowizard.models.unet_2d_condition.UNet2DConditionModel} as {@code run_infer.py} runs it
 * (xformers enabled: the joint attention processor), on the tiny GeoWizard checkpoint, each within the case's
 * suggested tolerance (20x the reference's own float32-vs-float64 deviation).
 */
class GeoWizardUNetTest {
  private static final String MODULES = "modules/tiny-geowizard";
  static UNet2DConditionModel unet;

  @BeforeAll
  static void loadModel() {
    Engine.init();
    Engine.setThreads(2);
    unet = GeoWizardUNet.load(Golden.fixtures().resolve("checkpoints/tiny-geowizard/unet"));
  }

  @AfterEach
  void restoreJointAttention() {
    unet.setJointSelfAttention(true);
  }

  private static Tensor run(Golden g) {
    return unet.forward(g.in("sample"), g.in("timestep"), g.in("encoder_hidden_states"), g.in("class_labels"));
  }

  private static void assertReproduces(String caseName) {
    Golden g = Golden.load(MODULES, caseName);
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor out = run(g);
      assertThat(out.requires_grad()).as("builds no autograd graph").isFalse();
      assertClose(out, g.out("sample"), g.atol("sample"), caseName);
    }
  }

  @Test
  void loadsWithJointSelfAttentionOn() {
    assertThat(unet.jointSelfAttention()).isTrue();
    assertThat(GeoWizardUNet.isGeoWizard(unet.config())).isTrue();
  }

  @Test
  void reproducesUnetAtT999IndoorWithJointAttention() {
    assertReproduces("unet_t999");
  }

  @Test
  void reproducesUnetAtT500Outdoor() {
    assertReproduces("unet_t500_outdoor");
  }

  @Test
  void upsamplesToTheSkipConnectionSizeForAnOddLatentInTheObjectDomain() {
    assertReproduces("unet_odd_latent_object");
  }

  @Test
  void reproducesEveryRecordedIntermediateActivationIncludingTheClassEmbedding() {
    Golden g = Golden.load(MODULES, "unet_intermediates");
    Map<String, Tensor> seen = new LinkedHashMap<>();
    Tensor out;
    try (NoGradGuard ng = new NoGradGuard(); var hook = unet.hook(seen::put)) {
      out = unet.forward(g.in("sample"), g.in("timestep"), g.in("encoder_hidden_states"), g.in("class_labels"));
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
    assertThat(compared).isEqualTo(19);
    assertThat(seen).containsKey("class_embedding");
  }

  @Test
  void reproducesThePlainAttentionGoldenWhenJointAttentionIsOff() {
    Golden plain = Golden.load(MODULES, "unet_t999_plain_attention");
    Golden joint = Golden.load(MODULES, "unet_t999");
    unet.setJointSelfAttention(false);
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor out = run(plain);
      assertClose(out, plain.out("sample"), plain.atol("sample"), "unet_t999_plain_attention");
      // The switch matters: the joint golden is far outside the tolerance of the plain result, and vice versa.
      assertThat(Tensors.maxAbsDiff(out, joint.out("sample"))).isGreaterThan(100 * joint.atol("sample"));
    }
  }

  @Test
  void needsClassLabels() {
    Golden g = Golden.load(MODULES, "unet_t999");
    try (NoGradGuard ng = new NoGradGuard()) {
      assertThatThrownBy(() -> unet.forward(g.in("sample"), g.in("timestep"), g.in("encoder_hidden_states")))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("class labels");
    }
  }

  @Test
  void jointAttentionRejectsABatchThatIsNotTwoHalves() {
    Golden g = Golden.load(MODULES, "unet_t999");
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor one = g.in("sample").narrow(0, 0, 1);
      assertThatThrownBy(() -> unet.forward(one, g.in("timestep").narrow(0, 0, 1),
          g.in("encoder_hidden_states").narrow(0, 0, 1), g.in("class_labels").narrow(0, 0, 1)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("two equal halves");
    }
  }

  @Test
  void refusesAUnetWithoutTheGeoWizardClassEmbedding() {
    assertThatThrownBy(() -> GeoWizardUNet.load(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth/unet")))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("not a GeoWizard UNet");
  }

  @Test
  void keepsNativeMemoryFlatInsideACallersPointerScope() {
    Golden g = Golden.load(MODULES, "unet_t999");
    try (NoGradGuard ng = new NoGradGuard()) {
      NativePointers.assertFlatOverScopedRounds(4, "scoped forward",
          () -> assertThat(Tensors.shape(run(g))).containsExactly(2, 4, 12, 16));
    }
  }
}
