package marigold4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class StateDictsTest {
  static final class Block extends Module {
    final Linear proj = child("proj", new Linear(3, 2, true));
    final ModuleList<Conv2d> convs = child("convs", new ModuleList<>());

    Block() {
      convs.add(new Conv2d(2, 2, 3, 1, 1));
    }
  }

  @BeforeAll
  static void boot() {
    Engine.init();
  }

  @Test
  void namesParametersByAttributePathInRegistrationOrder() {
    assertThat(new Block().namedParameters().keySet())
        .containsExactly("proj.weight", "proj.bias", "convs.0.weight", "convs.0.bias");
    assertThat(new Block().numParameters()).isEqualTo(3 * 2 + 2 + 2 * 2 * 9 + 2);
  }

  @Test
  void reportsEveryMissingUnexpectedAndMisShapedKeyTogether() {
    Map<String, Tensor> sd = new LinkedHashMap<>();
    sd.put("proj.weight", torch.zeros(2, 4));
    sd.put("convs.0.weight", torch.zeros(2, 2, 3, 3));
    sd.put("convs.0.bias", torch.zeros(2));
    sd.put("extra.bias", torch.zeros(1));
    assertThatThrownBy(() -> StateDicts.loadStrict(new Block(), sd, "model.safetensors", torch.ScalarType.Float))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("model.safetensors")
        .hasMessageContaining("1 missing:\n    proj.bias")
        .hasMessageContaining("1 unexpected:\n    extra.bias")
        .hasMessageContaining("proj.weight [2, 4] (expected [2, 3])");
  }

  @Test
  void weightsLoadedInsideAPointerScopeSurviveIt() {
    Block b = new Block();
    try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
      Map<String, Tensor> sd = new LinkedHashMap<>();
      sd.put("proj.weight", torch.ones(2, 3));
      sd.put("proj.bias", torch.zeros(2));
      sd.put("convs.0.weight", torch.zeros(2, 2, 3, 3));
      sd.put("convs.0.bias", torch.zeros(2));
      StateDicts.loadStrict(b, sd, "x", torch.ScalarType.Float);
    }
    assertThat(Tensors.toFloats(b.proj.forward(torch.ones(1, 3)))).containsExactly(3f, 3f);
    b.close();
    assertThat(b.namedParameters().get("proj.weight").isLoaded()).isFalse();
  }

  @Test
  void loadsAndConvertsToTheRequestedDtype() {
    Block b = new Block();
    Map<String, Tensor> sd = new LinkedHashMap<>();
    sd.put("proj.weight", torch.ones(2, 3).to(torch.ScalarType.Half));
    sd.put("proj.bias", torch.zeros(2));
    sd.put("convs.0.weight", torch.zeros(2, 2, 3, 3));
    sd.put("convs.0.bias", torch.zeros(2));
    StateDicts.loadStrict(b, sd, "x", torch.ScalarType.Float);
    Tensor y = b.proj.forward(torch.ones(1, 3));
    assertThat(Tensors.dtype(y)).isEqualTo(torch.ScalarType.Float);
    assertThat(Tensors.toFloats(y)).containsExactly(3f, 3f);
  }
}
