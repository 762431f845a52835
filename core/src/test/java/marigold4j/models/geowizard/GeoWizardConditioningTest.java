package marigold4j.models.geowizard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The [depth, normal] batch conditioning against the class labels and image tokens the original fed its UNet. */
class GeoWizardConditioningTest {

  @ParameterizedTest
  @CsvSource({"unet_t999, indoor", "unet_t500_outdoor, outdoor", "unet_odd_latent_object, object"})
  void buildsTheClassLabelsOfTheUnetGoldens(String caseName, String domain) {
    Golden g = Golden.load("modules/tiny-geowizard", caseName);
    Tensor labels = GeoWizardConditioning.classLabels(Domain.parse(domain));
    assertThat(Tensors.shape(labels)).containsExactly(2, GeoWizardConditioning.CLASS_LABEL_DIM);
    assertThat(Tensors.toFloats(labels)).containsExactly(Tensors.toFloats(g.in("class_labels")));
  }

  @Test
  void buildsTheClassLabelsOfTheIndoorPipelineGolden() {
    Golden g = Golden.load("pipelines", "geowizard_indoor_ensemble3_gaussian_res64");
    assertThat(Tensors.toFloats(GeoWizardConditioning.classLabels(Domain.INDOOR)))
        .containsExactly(Tensors.toFloats(g.tensor("batch0.class_labels")));
  }

  @Test
  void marksDepthInRowZeroAndNormalsInRowOne() {
    float[] l = Tensors.toFloats(GeoWizardConditioning.classLabels(Domain.OUTDOOR));
    float sin1 = (float) Math.sin(1.0);
    float cos1 = (float) Math.cos(1.0);
    // row: sin(geo) | cos(geo) | sin(domain) | cos(domain)
    assertThat(l[0]).isEqualTo(0f);
    assertThat(l[1]).isCloseTo(sin1, org.assertj.core.data.Offset.offset(1e-7f));
    assertThat(l[2]).isEqualTo(1f);
    assertThat(l[3]).isCloseTo(cos1, org.assertj.core.data.Offset.offset(1e-7f));
    assertThat(l[10]).isCloseTo(sin1, org.assertj.core.data.Offset.offset(1e-7f));
    assertThat(l[11]).isEqualTo(0f);
    assertThat(new float[] {l[4], l[5], l[6]}).containsExactly(0f, l[1], 0f);
    assertThat(new float[] {l[7], l[8], l[9]}).containsExactly(1f, l[3], 1f);
  }

  @Test
  void buildsTheLabelsInThePipelinesDtype() {
    Tensor f32 = GeoWizardConditioning.classLabels(Domain.INDOOR);
    Tensor f64 = GeoWizardConditioning.classLabels(Domain.INDOOR, torch.ScalarType.Double);
    Tensor bf16 = GeoWizardConditioning.classLabels(Domain.INDOOR, torch.ScalarType.BFloat16);
    assertThat(Tensors.dtype(f64)).isEqualTo(torch.ScalarType.Double);
    assertThat(Tensors.dtype(bf16)).isEqualTo(torch.ScalarType.BFloat16);
    // float64 takes sin/cos in double precision, as the original does in that dtype
    assertThat(f64.select(0, 0).select(0, 3).item_double()).isEqualTo(Math.cos(1.0));
    assertThat(Tensors.maxAbsDiff(f64.to(torch.ScalarType.Float), f32)).isLessThanOrEqualTo(1e-7);
    assertThat(Tensors.maxAbsDiff(bf16.to(torch.ScalarType.Float), f32)).isLessThanOrEqualTo(4e-3);
  }

  @Test
  void repeatsTheImageEmbeddingAsOneTokenPerBatchRow() {
    Golden g = Golden.load("pipelines", "geowizard_indoor_ensemble3_gaussian_res64");
    Tensor states = g.tensor("batch0.encoder_hidden_states");                     // (2, 1, D)
    Tensor imageEmbeds = states.select(0, 0);                                    // (1, D)
    Tensor built = GeoWizardConditioning.encoderHiddenStates(imageEmbeds);
    assertThat(Tensors.shape(built)).isEqualTo(Tensors.shape(states));
    assertThat(Tensors.maxAbsDiff(built, states)).isZero();
  }

  @Test
  void parsesTheDomainNamesOfRunInfer() {
    assertThat(Domain.parse("indoor")).isEqualTo(Domain.INDOOR);
    assertThat(Domain.parse("outdoor")).isEqualTo(Domain.OUTDOOR);
    assertThat(Domain.parse("object")).isEqualTo(Domain.OBJECT);
    assertThat(Domain.OBJECT.id()).isEqualTo("object");
    assertThatThrownBy(() -> Domain.parse("Indoor")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Indoor");
  }
}
