package marigold4j.schedulers;

import static org.assertj.core.api.Assertions.assertThat;

import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;
import marigold4j.testing.Golden;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * DDPMScheduler as E2E-FT's training loads it (from the checkpoints' DDIM config), against
 * {@code utils/scheduler_ddim}'s {@code ddpm_alphas_cumprod} and the DDPM posterior formulas.
 */
class DDPMSchedulerTest {
  static Golden golden;
  static DDPMScheduler ddpm;

  @BeforeAll
  static void load() {
    golden = Golden.load("utils", "scheduler_ddim");
    ddpm = DDPMScheduler.load(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth/scheduler"));
  }

  @Test
  void reproducesTrainingAlphasCumprod() {
    Golden.assertClose(ddpm.alphasCumprod(), golden.tensor("ddpm_alphas_cumprod"), DDIMSchedulerTest.SCHEDULE_ATOL,
        "ddpm alphas_cumprod");
  }

  @Test
  void matchesTheVelocityTargetOfTrainingAtT999() {
    torch.manual_seed(3);
    Tensor latent = torch.randn(2, 4, 3, 5);
    Tensor noise = torch.randn(2, 4, 3, 5);
    Tensor t = Tensors.fromLongs(new long[] {999, 999}, 2);
    double a = golden.tensor("ddpm_alphas_cumprod").select(0, 999).item_double();
    Tensor expected = noise.mul(F.s(Math.sqrt(a))).sub(latent.mul(F.s(Math.sqrt(1 - a))));
    Golden.assertClose(ddpm.getVelocity(latent, noise, t), expected, 1e-6, "v target");
  }

  @Test
  void stepsToThePosteriorMeanPlusFixedSmallNoise() {
    DDPMScheduler s = ddpm.withTimestepSpacing(TimestepSpacing.TRAILING);
    s.setTimesteps(4);
    torch.manual_seed(4);
    Tensor sample = torch.randn(1, 4, 3, 5);
    Tensor v = torch.randn(1, 4, 3, 5);
    Tensor noise = torch.randn(1, 4, 3, 5);
    float[] ac = Tensors.toFloats(golden.tensor("ddpm_alphas_cumprod"));
    double at = ac[749];
    double ap = ac[499];
    double x0Coeff = Math.sqrt(ap) * (1 - at / ap) / (1 - at);
    double xtCoeff = Math.sqrt(at / ap) * (1 - ap) / (1 - at);
    double std = Math.sqrt((1 - ap) / (1 - at) * (1 - at / ap));
    Tensor x0 = sample.mul(F.s(Math.sqrt(at))).sub(v.mul(F.s(Math.sqrt(1 - at))));
    Tensor expected = x0.mul(F.s(x0Coeff)).add(sample.mul(F.s(xtCoeff))).add(noise.mul(F.s(std)));

    StepOutput out = s.step(v, 749, sample, noise);
    Golden.assertClose(out.predOriginalSample(), x0, 1e-6, "pred_original_sample");
    Golden.assertClose(out.prevSample(), expected, 1e-5, "prev_sample");
  }

  @Test
  void addsNoNoiseAtTimestepZero() {
    torch.manual_seed(5);
    Tensor sample = torch.randn(1, 4, 3, 5);
    Tensor v = torch.randn(1, 4, 3, 5);
    // before setTimesteps the previous timestep is t - 1: from 0 that is -1, i.e. alpha_prev = 1 and x_{-1} = x0
    StepOutput out = ddpm.step(v, 0, sample);
    Golden.assertClose(out.prevSample(), out.predOriginalSample(), 1e-6, "x_{-1} vs x0");
  }
}
