package marigold4j.pipeline;

import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;

/**
 * From a decoded latent (the VAE decoder's 3-channel output) to a map, as the originals compute it at inference and in
 * E2E-FT training alike: depth is the channel mean, normals the channels made unit length. One place for both uses.
 */
public final class TaskHeads {
  /** Added to the normal's length before dividing, as the originals do (no division by zero on a zero pixel). */
  static final double NORMAL_EPS = 1e-5;

  private TaskHeads() {}

  /** Depth in [-1, 1]: the mean of the decoded channels, clamped (the training loss's input). */
  public static Tensor depth(Tensor decoded) {                                     // (B, 3, H, W) -> (B, 1, H, W)
    return F.clamp(F.mean(decoded, new long[] {1}, true), -1.0, 1.0);
  }

  /** Depth in [0, 1] as the inference pipelines return it: {@code (depth + 1) / 2}. */
  public static Tensor depthUnitRange(Tensor decoded) {                            // (B, 3, H, W) -> (B, 1, H, W)
    return depth(decoded).add(F.s(1.0)).div(F.s(2.0));
  }

  /** Normals: the decoded channels divided by their length plus {@value #NORMAL_EPS} (not clamped). */
  public static Tensor unitNormals(Tensor decoded) {                               // (B, 3, H, W) -> (B, 3, H, W)
    return decoded.div(F.norm2(decoded, new long[] {1}, true).add(F.s(NORMAL_EPS)));
  }

  /** Normals clamped to [-1, 1] (the training loss's input). */
  public static Tensor clampedNormals(Tensor decoded) {
    return F.clamp(unitNormals(decoded), -1.0, 1.0);
  }
}
