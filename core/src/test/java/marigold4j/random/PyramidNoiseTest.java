package marigold4j.random;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Both pyramid-noise variants against testdata/utils/pyramid_noise.* with the recorded draws injected. */
class PyramidNoiseTest {
  /** Float32 sums of up to 5 upsampled levels, then a std over all elements. */
  private static final double ATOL = 2e-6;

  private static Golden golden;

  @BeforeAll
  static void load() {
    golden = Golden.load("utils", "pyramid_noise");
  }

  static RecordedNoise recorded(JsonNode draws, java.util.function.Function<String, Tensor> tensors) {
    RecordedNoise r = new RecordedNoise();
    for (JsonNode d : draws) {
      switch (d.get("fn").asText()) {
        case "torch.randn_like" -> r.addRandnLike(tensors.apply(d.get("key").asText()));
        case "torch.randn" -> r.addRandn(tensors.apply(d.get("key").asText()));
        default -> r.addUniform(d.get("value").asDouble());
      }
    }
    return r;
  }

  @TestFactory
  List<DynamicTest> reproducesEveryFixtureCaseFromItsRecordedDraws() {
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode c : golden.json().get("cases")) {
      String name = c.get("name").asText();
      tests.add(DynamicTest.dynamicTest(name, () -> {
        long[] shape = new long[4];
        for (int i = 0; i < 4; i++) shape[i] = c.get("input_shape").get(i).asLong();
        Tensor x = torch.zeros(shape);
        RecordedNoise draws = recorded(c.get("draws"), golden::tensor);
        Tensor out;
        try (NoGradGuard g = new NoGradGuard()) {
          if (name.startsWith("geowizard")) {
            long[] t = new long[c.get("timesteps").size()];
            for (int i = 0; i < t.length; i++) t[i] = c.get("timesteps").get(i).asLong();
            out = PyramidNoise.geowizard(x, Tensors.fromLongs(t, t.length), draws);
          } else {
            out = PyramidNoise.marigold(x, draws);
          }
        }
        assertThat(draws.remaining()).as("every recorded draw consumed, in order").isZero();
        Golden.assertClose(out, golden.tensor(c.get("out").asText()), ATOL, name);
      }));
    }
    return tests;
  }

  @Test
  void seededEngineAndPythonRandomReproduceThePipelinesDrawsExactly() {
    // depth_ddim2_trailing_pyramid: seed_all(44) then the pipeline's pyramid noise; every draw must come out equal.
    // Observed on every pipeline fixture: between seed_all and the first noise draw the original consumes two 32-bit
    // words of torch's CPU generator (as torch.rand(2) does); the pipeline has to reproduce that to match seeded runs.
    Golden p = Golden.load("pipelines", "depth_ddim2_trailing_pyramid");
    long seed = p.json().get("seed_all").asLong();
    torch.manual_seed(seed);
    torch.rand(2);
    NoiseSource engine = NoiseSource.torch(new PythonRandom(seed));
    RecordedNoise expected = recorded(p.json().get("random_draws"), p::tensor);
    NoiseSource checking = new NoiseSource() {
      @Override
      public Tensor randnLike(Tensor x) {
        Tensor t = engine.randnLike(x);
        assertThat(Tensors.maxAbsDiff(t, expected.randnLike(x))).isZero();
        return t;
      }

      @Override
      public Tensor randn(long... shape) {
        Tensor t = engine.randn(shape);
        assertThat(Tensors.maxAbsDiff(t, expected.randn(shape))).isZero();
        return t;
      }

      @Override
      public double random() {
        double v = engine.random();
        assertThat(v).isEqualTo(expected.random());
        return v;
      }
    };
    PyramidNoise.marigold(torch.zeros(1, 4, 12, 16), checking);
    assertThat(expected.remaining()).isZero();
  }

  @Test
  void buildsNoAutogradGraphAndKeepsNativeMemoryFlatUnderAScope() {
    Tensor x = torch.zeros(2, 4, 24, 32);
    PythonRandom py = new PythonRandom(1);
    long before = 0;
    for (int i = 0; i < 30; i++) {
      try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
        Tensor n = PyramidNoise.marigold(x, NoiseSource.torch(py));
        assertThat(n.requires_grad()).isFalse();
      }
      if (i == 5) before = Pointer.totalCount();
    }
    assertThat(Pointer.totalCount()).isLessThanOrEqualTo(before);
  }
}
