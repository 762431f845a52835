package marigold4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import marigold4j.pipeline.Precision;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * Every case of {@code testdata/training/} (runs of the original {@code training/train.py}), replayed step by step
 * ({@link TrainPyReplay}): per micro-batch the UNet input, v-prediction, decoder input, loss input and loss; per
 * optimizer step the learning rate, the pre-clip gradient norm and clip coefficient, the selected gradients before
 * clipping, the parameters and AdamW moments after the step.
 *
 * <p>Each quantity's tolerance is {@code testdata/training/tolerances.json}'s {@code suggested_atol}: 20 x the
 * deviation of the original's float32 value from a float64 replay of the same run, never below 2e-6 x its largest
 * magnitude ({@link TrainingTolerances}, the fixtures' recipe for module tolerances). A float32 reimplementation on
 * any processor should land within it; a wrong kernel does not (on a host whose oneDNN got batched convolution input
 * gradients wrong, the gradients were off by 10^5 x their tolerance).
 */
class TrainingGoldenTest {
  static final List<String> CASES = TrainingTolerances.CASES;
  private static JsonNode tolerances;

  @BeforeAll
  static void readTolerances() throws IOException {
    tolerances = new ObjectMapper().readTree(TrainingTolerances.file().toFile());
  }

  @ParameterizedTest
  @FieldSource("CASES")
  void reproducesTrainPyStepByStep(String name) {
    // every recorded run used --gradient_checkpointing; the Java run follows the recorded command line
    reproduce(name, null);
  }

  @Test
  void reproducesTheCheckpointedTrainPyRunWithoutCheckpointingToo() {
    reproduce("depth_marigold_zeros_warmup0", false);
  }

  @Test
  void everyCaseHasItsDerivedTolerances() {
    assertThat(tolerances.path("cases").size()).isEqualTo(CASES.size());
    for (String name : CASES) {
      assertThat(tolerances.path("cases").path(name).size()).as(name + " quantities").isGreaterThan(30);
    }
  }

  private void reproduce(String name, Boolean checkpointing) {
    Deviations dev = new Deviations(name, checkpointing == null ? "" : " (checkpointing " + checkpointing + ")");
    TrainPyReplay.run(name, checkpointing, Precision.FP32, dev);
    dev.report();
  }

  /** Collects each comparison's observed deviation against its derived tolerance, asserts, and prints the worst. */
  static final class Deviations implements TrainPyReplay.Sink {
    private final String name;
    private final String label;
    private final Map<String, double[]> worst = new TreeMap<>();
    private final List<String> failures = new ArrayList<>();

    Deviations(String name, String suffix) {
      this.name = name;
      this.label = name + suffix;
    }

    @Override
    public void tensor(String key, Tensor actual, Tensor expected) {
      assertThat(actual).as(label + " " + key + " present").isNotNull();
      assertThat(Tensors.shape(actual)).as(label + " " + key + " shape").isEqualTo(Tensors.shape(expected));
      record(key, Tensors.maxAbsDiff(actual, expected));
    }

    @Override
    public void scalar(String key, double actual, double expected) {
      record(key, Math.abs(actual - expected));
    }

    private void record(String key, double d) {
      double atol = TrainingTolerances.atol(tolerances, name, key);
      String kind = key.replaceAll("^(micro|step)\\d+\\.", "").replaceAll("\\..*", "");
      double[] w = worst.computeIfAbsent(kind, k -> new double[] {0, 0});
      w[0] = Math.max(w[0], d);
      w[1] = Math.max(w[1], d / atol);
      if (!(d <= atol)) failures.add(key + ": max |java - python| = " + d + " > atol " + atol);
    }

    void report() {
      StringBuilder sb = new StringBuilder(label).append(":");
      worst.forEach((k, v) -> sb.append(String.format(Locale.ROOT, " %s=%.2e(%.0f%%)", k, v[0], 100 * v[1])));
      System.out.println(sb);
      assertThat(failures).as(label + " deviations beyond tolerance").isEmpty();
    }
  }
}
