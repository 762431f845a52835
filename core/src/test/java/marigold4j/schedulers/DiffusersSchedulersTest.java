package marigold4j.schedulers;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The schedulers of diffusers 0.33.1's Marigold checkpoints against {@code testdata/diffusers_marigold/schedulers.*}:
 * LCMScheduler (tiny-marigold-lcm-depth) and the zero-terminal-SNR trailing DDIMScheduler of v1-1
 * (tiny-marigold-v11-depth). Timesteps are integers (exact); alphas_cumprod is the original's float32 cumprod
 * (exact); a step is a few float32 operations, held to the fixture's floor of 2e-6 x max|value|.
 */
class DiffusersSchedulersTest {
  static Golden golden;

  @BeforeAll
  static void load() {
    golden = Golden.load("diffusers_marigold", "schedulers");
  }

  static Path schedulerDir(String checkpoint) {
    return Golden.fixtures().resolve("checkpoints").resolve(checkpoint).resolve("scheduler");
  }

  @Test
  void lcmIsSelectedByTheCheckpointsConfig() {
    Scheduler s = Schedulers.load(schedulerDir("tiny-marigold-lcm-depth"));
    assertThat(s).isInstanceOf(LCMScheduler.class);
    LCMScheduler lcm = (LCMScheduler) s;
    assertThat(lcm.originalInferenceSteps()).isEqualTo(50);
    assertThat(lcm.timestepScaling()).isEqualTo(10.0);
    assertThat(Schedulers.load(schedulerDir("tiny-marigold-v11-depth"))).isInstanceOf(DDIMScheduler.class);
  }

  @Test
  void lcmSchedule() {
    check("lcm", Schedulers.load(schedulerDir("tiny-marigold-lcm-depth")));
  }

  @Test
  void zeroSnrTrailingDdimSchedule() {
    check("ddim_v11", Schedulers.load(schedulerDir("tiny-marigold-v11-depth")));
  }

  private void check(String name, Scheduler s) {
    JsonNode spec = golden.json().path("schedulers").path(name);
    assertThat(Tensors.maxAbsDiff(s.alphasCumprod(), golden.tensor(name + ".alphas_cumprod"))).isEqualTo(0.0);
    assertThat(Tensors.maxAbsDiff(s.betas(), golden.tensor(name + ".betas"))).isEqualTo(0.0);
    float fin = s instanceof LCMScheduler l ? l.finalAlphaCumprod() : ((DDIMScheduler) s).finalAlphaCumprod();
    assertThat((double) fin).isEqualTo(spec.path("final_alpha_cumprod").asDouble());
    spec.path("timesteps").fields().forEachRemaining(e -> {
      s.setTimesteps(Integer.parseInt(e.getKey()));
      long[] expected = new long[e.getValue().size()];
      for (int i = 0; i < expected.length; i++) expected[i] = e.getValue().get(i).asLong();
      assertThat(s.timesteps()).as(name + " set_timesteps(" + e.getKey() + ")").containsExactly(expected);
    });
    for (int n : new int[] {1, 2, 4}) {
      try (PointerScope scope = new PointerScope()) {
        s.setTimesteps(n);
        String p = name + ".n" + n;
        Tensor sample = golden.tensor(p + ".sample_init");
        long[] ts = s.timesteps();
        for (int i = 0; i < ts.length; i++) {
          String q = p + ".step" + i;
          final int step = i;
          StepOutput o = s.step(golden.tensor(q + ".model_output"), ts[i], sample, shape -> {
            assertThat(golden.has(q + ".noise")).as("noise drawn at " + q).isTrue();
            return golden.tensor(q + ".noise");
          });
          Tensor expectedPrev = golden.tensor(q + ".prev_sample");
          Tensor expectedDenoised = golden.tensor(q + ".denoised");
          Golden.assertClose(o.prevSample(), expectedPrev, floor(expectedPrev), q + ".prev_sample");
          Golden.assertClose(o.predOriginalSample(), expectedDenoised, floor(expectedDenoised), q + ".denoised");
          if (s instanceof LCMScheduler l) {
            JsonNode rec = stepRecord(spec, n, step);
            float[] c = l.boundaryScalings(ts[i]);
            assertThat((double) c[0]).isCloseTo(rec.path("c_skip").asDouble(), org.assertj.core.data.Offset.offset(1e-15));
            assertThat((double) c[1]).isEqualTo(rec.path("c_out").asDouble());
          }
          sample = o.prevSample();
        }
      }
    }
  }

  private static JsonNode stepRecord(JsonNode spec, int n, int i) {
    for (JsonNode r : spec.path("steps")) if (r.path("n").asInt() == n && r.path("i").asInt() == i) return r;
    throw new AssertionError("no step record n=" + n + " i=" + i);
  }

  private static double floor(Tensor expected) {
    return 2e-6 * Math.max(1.0, expected.abs().max().item_double());
  }
}
