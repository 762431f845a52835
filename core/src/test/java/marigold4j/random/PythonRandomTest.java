package marigold4j.random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;

/**
 * CPython {@code random} and numpy's legacy generator, bit for bit. Expected values: the recorded draws of the
 * fixtures (seed_all seeds random / numpy / torch right before each pipeline call) and of utils/pyramid_noise, whose
 * draws were made right after {@code random.seed(400 + k)} / {@code np.random.seed(503 + k)} (found by search).
 */
class PythonRandomTest {
  private static List<Double> recordedUniforms(JsonNode draws, String fn) {
    List<Double> out = new ArrayList<>();
    for (JsonNode d : draws) if (d.get("fn").asText().equals(fn)) out.add(d.get("value").asDouble());
    return out;
  }

  private static void assertSequence(UniformSource rng, List<Double> expected) {
    for (int i = 0; i < expected.size(); i++) {
      // exact equality: the doubles are reproduced bit for bit
      assertThat(rng.random()).as("draw %d", i).isEqualTo(expected.get(i));
    }
  }

  @Test
  void pythonRandomReproducesThePipelinesRecordedDraws() {
    for (String c : List.of("depth_ddim2_trailing_pyramid", "normals_ensemble3_pyramid_res64")) {
      JsonNode j = Golden.readJson(Golden.fixtures().resolve("pipelines/" + c + ".json"));
      List<Double> expected = recordedUniforms(j.get("random_draws"), "random.random");
      assertThat(expected).isNotEmpty();
      assertSequence(new PythonRandom(j.get("seed_all").asLong()), expected);
    }
  }

  @Test
  void numpyRandomReproducesGeoWizardsRecordedDraws() {
    JsonNode j = Golden.readJson(Golden.fixtures().resolve("pipelines/geowizard_indoor_pyramid_res0.json"));
    List<Double> expected = recordedUniforms(j.get("random_draws"), "np.random.random");
    assertThat(expected).hasSize(4);
    assertSequence(new NumpyRandom(j.get("seed_all").asLong()), expected);
  }

  @Test
  void reproducesThePyramidNoiseFixturesUniforms() {
    JsonNode cases = Golden.readJson(Golden.fixtures().resolve("utils/pyramid_noise.json")).get("cases");
    int python = 400;
    int numpy = 503;
    for (JsonNode c : cases) {
      JsonNode draws = c.get("draws");
      if (c.get("name").asText().startsWith("geowizard")) {
        assertSequence(new NumpyRandom(numpy++), recordedUniforms(draws, "np.random.random"));
      } else {
        assertSequence(new PythonRandom(python++), recordedUniforms(draws, "random.random"));
      }
    }
  }

  @Test
  void pythonSeedsUseTheAbsoluteValueAndEvery32BitWord() {
    // random.seed(0).random() and random.seed(2**40 + 5) / random.seed(-7) as CPython 3 gives them
    assertThat(new PythonRandom(0).random()).isEqualTo(0.8444218515250481);
    assertThat(new PythonRandom(-7).random()).isEqualTo(new PythonRandom(7).random());
    PythonRandom big = new PythonRandom(1);
    big.seed(BigInteger.ONE.shiftLeft(40).add(BigInteger.valueOf(5)));
    assertThat(big.random()).isEqualTo(0.5043802970418443);
  }

  @Test
  void numpySeedsOutsideUint32AreRejected() {
    assertThatThrownBy(() -> new NumpyRandom(-1)).hasMessageContaining("2**32");
    assertThatThrownBy(() -> new NumpyRandom(1L << 32)).hasMessageContaining("2**32");
    assertThat(new NumpyRandom(0).random()).isEqualTo(0.5488135039273248);
  }
}
