package marigold4j.random;

import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * Multi-resolution ("pyramid") noise as the seed's pipelines draw it: full-resolution noise plus up to nine coarser
 * noise levels, each bilinearly upsampled (align_corners false, no antialias) and weighted by {@code 0.9^i}, then
 * rescaled to unit (unbiased) standard deviation.
 *
 * <p>Two variants exist and both are reproduced with their quirks. In both, the original unpacks the shape as
 * {@code b, c, w, h}, so its "w" is the height; draws happen in the order randn_like, then per level one uniform and one
 * randn, and the loop stops after a level whose height or width is 1.
 */
public final class PyramidNoise {
  private static final double DISCOUNT = 0.9;
  private static final int LEVELS = 10;

  private PyramidNoise() {}

  /**
   * Marigold's {@code pyramid_noise_like} (also training/util/noise.py): {@code r = random.random() * 2 + 2} and the
   * level sizes compound, {@code w = max(1, int(w / r^i))} starting from the previous level's size.
   *
   * @param x the latent whose shape (B, C, H, W), dtype and device the noise takes
   * @param draws Python's {@code random} for the uniforms, torch for the normals
   */
  public static Tensor marigold(Tensor x, NoiseSource draws) {
    long[] s = Tensors.shape(x); // (B, C, H, W)
    long height = s[2];
    long width = s[3];
    Tensor noise = draws.randnLike(x);
    long w = height;
    long h = width;
    for (int i = 0; i < LEVELS; i++) {
      double r = draws.random() * 2 + 2;
      w = Math.max(1, (long) (w / Math.pow(r, i)));
      h = Math.max(1, (long) (h / Math.pow(r, i)));
      Tensor level = upsample(draws.randn(s[0], s[1], w, h), x, height, width);
      noise.add_(level.mul(F.s(Math.pow(DISCOUNT, i))));
      if (w == 1 || h == 1) break;
    }
    return noise.div(noise.std());
  }

  /**
   * GeoWizard's {@code pyramid_noise_like}: {@code r = np.random.random() * 1.5 + 1.5}, every level's size computed
   * from the original size, and each level additionally weighted by {@code timesteps / 1000} per sample.
   *
   * @param x the latent (B, C, H, W)
   * @param timesteps (B) or (1), integer or float; divided by 1000 in float32 as torch's true division does
   * @param draws numpy's legacy generator for the uniforms, torch for the normals
   */
  public static Tensor geowizard(Tensor x, Tensor timesteps, NoiseSource draws) {
    long[] s = Tensors.shape(x); // (B, C, H, W)
    long height = s[2];
    long width = s[3];
    Tensor tScale = timesteps.reshape(-1, 1, 1, 1).div(F.si(1000)); // (B, 1, 1, 1) float
    Tensor noise = draws.randnLike(x);
    for (int i = 0; i < LEVELS; i++) {
      double r = draws.random() * 1.5 + 1.5;
      long w = Math.max(1, (long) (height / Math.pow(r, i)));
      long h = Math.max(1, (long) (width / Math.pow(r, i)));
      Tensor level = upsample(draws.randn(s[0], s[1], w, h), x, height, width);
      noise.add_(level.mul(tScale).mul(F.s(Math.pow(DISCOUNT, i))));
      if (w == 1 || h == 1) break;
    }
    return noise.div(noise.std());
  }

  /** nn.Upsample(size=(H, W), mode='bilinear') applied to {@code randn(...).to(x)}. */
  private static Tensor upsample(Tensor coarse, Tensor like, long height, long width) {
    Tensor c = coarse.to(like.device(), Tensors.dtype(like));
    return F.interpolate(c, height, width, F.Mode.BILINEAR, false);
  }
}
