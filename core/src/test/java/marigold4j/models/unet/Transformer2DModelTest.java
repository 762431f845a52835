package marigold4j.models.unet;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import marigold4j.nn.Parameter;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The 1x1-convolution projections of {@link Transformer2DModel} (use_linear_projection false, SD1-style) have no
 * golden; they must equal the golden-tested linear projections given the same weights.
 */
class Transformer2DModelTest {
  @BeforeAll
  static void boot() {
    Engine.init();
  }

  @Test
  void convProjectionsEqualLinearProjectionsWithTheSameWeights() {
    torch.manual_seed(7);
    Transformer2DModel linear = new Transformer2DModel(2, 16, 32, 1, 16, 8, true, false);
    Transformer2DModel conv = new Transformer2DModel(2, 16, 32, 1, 16, 8, false, false);
    Map<String, Parameter> convSlots = conv.namedParameters();
    assertThat(convSlots.keySet()).containsExactlyElementsOf(linear.namedParameters().keySet());
    linear.namedParameters().forEach((k, p) -> {
      Tensor w = torch.randn(p.shape()).mul(new org.bytedeco.pytorch.Scalar(0.2));
      p.set(w);
      boolean projWeight = k.equals("proj_in.weight") || k.equals("proj_out.weight");
      convSlots.get(k).set(projWeight ? w.unsqueeze(-1).unsqueeze(-1) : w);   // (out, in) -> (out, in, 1, 1)
    });
    Tensor x = torch.randn(2, 32, 5, 7);
    Tensor context = torch.randn(2, 3, 16);
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor a = linear.forward(x, context);
      Tensor b = conv.forward(x, context);
      assertThat(Tensors.shape(b)).containsExactly(2, 32, 5, 7);
      assertThat(Tensors.maxAbsDiff(a, b)).isLessThan(1e-5);
      assertThat(Tensors.maxAbsDiff(a, x)).as("the blocks change the input").isGreaterThan(1e-2);
    }
  }
}
