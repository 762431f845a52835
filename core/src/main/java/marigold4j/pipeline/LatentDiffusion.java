package marigold4j.pipeline;

import marigold4j.schedulers.DDIMScheduler;
import marigold4j.schedulers.StepOutput;
import marigold4j.torch.F;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The latent-diffusion engine the image-conditioned diffusion families share (Marigold, GeoWizard): the latent scale
 * and the denoising loop. A family supplies its UNet call (its conditioning: text embedding, class labels, batch
 * layout); the loop concatenates the RGB latent before the target latent, steps the scheduler in float32 in its own
 * scope per step, and returns the last step's x0 estimate.
 */
public final class LatentDiffusion {
  /**
   * The latent scale the original Marigold and GeoWizard pipelines hard-code for both the RGB and the target latent
   * (SD2's VAE {@code scaling_factor}); E2E-FT training reads the VAE config instead.
   */
  public static final double MARIGOLD_LATENT_SCALE = 0.18215;

  /** A family's UNet call for one step: {@code unetInput} is (B, 8, h, w), RGB latent first. */
  @FunctionalInterface
  public interface Denoiser {
    Tensor predict(Tensor unetInput, long timestep);
  }

  private LatentDiffusion() {}

  /**
   * Runs the scheduler's timesteps from {@code initial}.
   *
   * @param rgbLatent the conditioning latent, (B, 4, h, w) like {@code initial}
   * @param dtype the model's dtype: each step's result is cast back to it
   * @param owner the scope the result must outlive the loop in (each step's temporaries are freed with the step)
   * @return the x0 estimate of the last step (not the noisier previous sample), (B, 4, h, w)
   */
  public static Tensor denoise(DDIMScheduler scheduler, long[] timesteps, Tensor rgbLatent, Tensor initial,
      Denoiser unet, torch.ScalarType dtype, PointerScope owner) {
    Tensor latent = initial;
    for (int i = 0; i < timesteps.length; i++) {
      try (PointerScope step = new PointerScope()) {
        Tensor out = unet.predict(F.cat(1, rgbLatent, latent), timesteps[i]);
        StepOutput s = scheduler.step(out.to(torch.ScalarType.Float), timesteps[i], latent.to(torch.ScalarType.Float));
        Tensor next = (i == timesteps.length - 1 ? s.predOriginalSample() : s.prevSample()).to(dtype);
        owner.attach(next);
        latent = next;
      }
    }
    return latent;
  }
}
