package marigold4j.schedulers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * DDIMScheduler against {@code testdata/utils/scheduler_ddim.*} (diffusers 0.30.2, torch 1.13.1, the checkpoints'
 * scheduler config).
 *
 * <p>The golden file records no tolerances for this case. The schedule is computed with the original's exact float32
 * operations, so betas and alphas_cumprod must match bit for bit (atol 0). A step is a short chain of float32 tensor
 * operations done in the original's order; its tolerance is the fixtures' floor for float32 results, 2e-6 x
 * max|value| (observed: 0).
 */
class DDIMSchedulerTest {
  static final double SCHEDULE_ATOL = 0.0;
  static Golden golden;
  static Path schedulerDir;

  @BeforeAll
  static void load() {
    golden = Golden.load("utils", "scheduler_ddim");
    schedulerDir = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth/scheduler");
  }

  static DDIMScheduler checkpointScheduler() {
    return DDIMScheduler.load(schedulerDir);
  }

  @Test
  void readsTheCheckpointsSchedulerConfig() {
    SchedulerConfig c = checkpointScheduler().config();
    JsonNode expected = golden.json().get("config");
    assertThat(c.numTrainTimesteps()).isEqualTo(expected.get("num_train_timesteps").asInt());
    assertThat(c.betaStart()).isEqualTo(expected.get("beta_start").asDouble());
    assertThat(c.betaEnd()).isEqualTo(expected.get("beta_end").asDouble());
    assertThat(c.betaSchedule()).isEqualTo(SchedulerConfig.BetaSchedule.SCALED_LINEAR);
    assertThat(c.predictionType()).isEqualTo(SchedulerConfig.PredictionType.V_PREDICTION);
    assertThat(c.timestepSpacing()).isEqualTo(TimestepSpacing.TRAILING);
    assertThat(c.stepsOffset()).isEqualTo(1);
    assertThat(c.setAlphaToOne()).isFalse();
    assertThat(c.clipSample()).isFalse();
    assertThat(c).usingRecursiveComparison().ignoringFields("source").isEqualTo(SchedulerConfig.stableDiffusion2());
  }

  @Test
  void reproducesScaledLinearBetas() {
    Tensor betas = checkpointScheduler().betas();
    Golden.assertClose(betas, golden.tensor("betas"), SCHEDULE_ATOL, "betas");
  }

  @Test
  void reproducesAlphasCumprodAccumulatedInDouble() {
    Tensor ac = checkpointScheduler().alphasCumprod();
    Golden.assertClose(ac, golden.tensor("alphas_cumprod"), SCHEDULE_ATOL, "alphas_cumprod");
  }

  @Test
  void usesAlphasCumprodOfTimestepZeroPastTheEnd() {
    DDIMScheduler s = checkpointScheduler();
    assertThat((double) s.finalAlphaCumprod()).isEqualTo(golden.json().get("final_alpha_cumprod").asDouble());
    assertThat(s.finalAlphaCumprod()).isEqualTo(s.alphaCumprod(0));
  }

  @TestFactory
  List<DynamicTest> reproducesTimestepsForEverySpacingAndCount() {
    List<DynamicTest> tests = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = golden.json().get("timesteps").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String[] parts = e.getKey().split("_");
      TimestepSpacing spacing = TimestepSpacing.parse(parts[0]);
      int n = Integer.parseInt(parts[1]);
      long[] expected = new long[e.getValue().size()];
      for (int i = 0; i < expected.length; i++) expected[i] = e.getValue().get(i).asLong();
      tests.add(DynamicTest.dynamicTest(e.getKey(), () -> {
        DDIMScheduler s = checkpointScheduler().withTimestepSpacing(spacing);
        s.setTimesteps(n);
        assertThat(s.timesteps()).as(e.getKey()).containsExactly(expected);
      }));
    }
    assertThat(tests).hasSizeGreaterThanOrEqualTo(24);
    return tests;
  }

  @TestFactory
  List<DynamicTest> reproducesVPredictionStepsIncludingNegativePreviousTimestep() {
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode c : golden.json().get("steps")) {
      String key = c.get("key").asText();
      tests.add(DynamicTest.dynamicTest(key + " " + c.get("spacing").asText() + " n=" + c.get("num_inference_steps")
          + " t=" + c.get("timestep"), () -> {
            DDIMScheduler s = checkpointScheduler().withTimestepSpacing(TimestepSpacing.parse(c.get("spacing").asText()));
            s.setTimesteps(c.get("num_inference_steps").asInt());
            long t = c.get("timestep").asLong();
            assertThat(s.previousTimestep(t)).isEqualTo(c.get("prev_timestep").asLong());
            assertThat((double) s.alphaCumprod(t)).isEqualTo(c.get("alpha_prod_t").asDouble());

            StepOutput out = s.step(golden.tensor(key + ".model_output"), t, golden.tensor(key + ".sample"));
            Tensor prev = golden.tensor(key + ".prev_sample");
            Tensor x0 = golden.tensor(key + ".pred_original_sample");
            Golden.assertClose(out.prevSample(), prev, floorAtol(prev), key + ".prev_sample");
            Golden.assertClose(out.predOriginalSample(), x0, floorAtol(x0), key + ".pred_original_sample");
          }));
    }
    assertThat(tests).hasSize(13);
    return tests;
  }

  @Test
  void recoversTheCleanSampleFromItsVelocityTarget() {
    DDIMScheduler s = checkpointScheduler();
    s.setTimesteps(4);
    torch.manual_seed(0);
    Tensor x0 = torch.randn(2, 4, 3, 5);
    Tensor noise = torch.randn(2, 4, 3, 5);
    for (long t : new long[] {999, 500, 1}) {
      Tensor ts = Tensors.fromLongs(new long[] {t, t}, 2);
      Tensor xt = s.addNoise(x0, noise, ts);
      Tensor v = s.getVelocity(x0, noise, ts);
      StepOutput out = s.step(v, t, xt);
      Golden.assertClose(out.predOriginalSample(), x0, 1e-5, "x0 recovered at t=" + t);
    }
  }

  @Test
  void addsNoiseWithPerSampleTimesteps() {
    DDIMScheduler s = checkpointScheduler();
    torch.manual_seed(1);
    Tensor x0 = torch.randn(2, 4, 3, 5);
    Tensor noise = torch.randn(2, 4, 3, 5);
    Tensor xt = s.addNoise(x0, noise, Tensors.fromLongs(new long[] {999, 0}, 2));
    float[] ac = Tensors.toFloats(golden.tensor("alphas_cumprod"));
    for (int b = 0; b < 2; b++) {
      double a = ac[b == 0 ? 999 : 0];
      Tensor expected = x0.select(0, b).mul(new org.bytedeco.pytorch.Scalar(Math.sqrt(a)))
          .add(noise.select(0, b).mul(new org.bytedeco.pytorch.Scalar(Math.sqrt(1 - a))));
      Golden.assertClose(xt.select(0, b), expected, 1e-6, "noisy sample " + b);
    }
  }

  @Test
  void buildsNoAutogradGraphUnderNoGrad() {
    DDIMScheduler s = checkpointScheduler();
    s.setTimesteps(4);
    Tensor sample = torch.randn(1, 4, 3, 5).requires_grad_(true);
    Tensor modelOutput = torch.randn(1, 4, 3, 5).requires_grad_(true);
    try (NoGradGuard g = new NoGradGuard()) {
      StepOutput out = s.step(modelOutput, 999, sample);
      assertThat(out.prevSample().requires_grad()).isFalse();
      assertThat(out.predOriginalSample().requires_grad()).isFalse();
    }
  }

  @Test
  void keepsNativeMemoryFlatInAScopedLoop() {
    DDIMScheduler s = checkpointScheduler();
    s.setTimesteps(50);
    Tensor latent = torch.randn(1, 4, 8, 8);
    Tensor modelOutput = torch.randn(1, 4, 8, 8);
    long before = 0;
    for (int round = 0; round < 3; round++) {
      for (long t : s.timesteps()) {
        Tensor next;
        try (PointerScope scope = new PointerScope()) {
          next = s.step(modelOutput, t, latent).prevSample();
          next.retainReference();
        }
        latent.close();
        latent = next;
      }
      if (round == 0) before = Pointer.totalCount();
    }
    assertThat(Pointer.totalCount()).isLessThanOrEqualTo(before);
  }

  @Test
  void refusesToStepBeforeTimestepsAreSet() {
    assertThatThrownBy(() -> checkpointScheduler().step(torch.zeros(1), 999, torch.zeros(1)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("setTimesteps");
  }

  @Test
  void rejectsMoreInferenceStepsThanTrainingSteps() {
    assertThatThrownBy(() -> checkpointScheduler().setTimesteps(1001))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1001");
  }

  /** 2e-6 x max|expected|: the fixtures' lower bound for a float32 result. */
  static double floorAtol(Tensor expected) {
    return 2e-6 * expected.abs().max().item_double();
  }
}
