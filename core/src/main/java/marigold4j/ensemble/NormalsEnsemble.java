package marigold4j.ensemble;

import java.util.Arrays;
import marigold4j.torch.Engine;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Test-time ensembling of normal maps, as GeoWizard's {@code ensemble_normals} (copied into the E2E-FT Marigold
 * pipeline): the members are normalised, their spherical angles averaged per pixel, and the member whose summed
 * angle to that mean direction is smallest is returned, not the mean itself. The original computes no uncertainty
 * (Marigold's copy returns {@code None} for it).
 */
public final class NormalsEnsemble {
  /** The chosen member, normalised, (3, H, W), and its index among the members. */
  public record Result(Tensor normals, long memberIndex) {}

  private NormalsEnsemble() {}

  /** Picks the member of {@code normals} (N, 3, H, W) closest to the spherical mean. */
  public static Result ensemble(Tensor normals) {
    Engine.init();
    if (normals.dim() != 4 || normals.size(1) != 3) {
      throw new IllegalArgumentException("normal members must be (N, 3, H, W), got "
          + Arrays.toString(Tensors.shape(normals)));
    }
    long n = normals.size(0);
    Tensor unit = normals.div(l2OverDim1(normals).unsqueeze(1).add(F.s(1e-5))); // (N, 3, H, W)
    Tensor x = unit.select(1, 0);
    Tensor y = unit.select(1, 1);
    Tensor z = unit.select(1, 2);
    Tensor phi = F.mean(torch.atan2(y, x), new long[] {0}, false); // (H, W) azimuth
    Tensor theta = F.mean(torch.atan2(l2OverDim1(unit.narrow(1, 0, 2)), z), new long[] {0}, false); // polar
    Tensor sinTheta = theta.sin();
    Tensor mean = F.stack(0, sinTheta.mul(phi.cos()), sinTheta.mul(phi.sin()), theta.cos());
    Tensor cos = torch.cosine_similarity(mean.unsqueeze(0), unit, 1, 1e-8); // (N, H, W)
    Tensor angle = torch.acos(F.clamp(cos, -0.999, 0.999));
    long index = F.sum(angle.reshape(n, -1), new long[] {-1}, false).argmin().item_long();
    return new Result(unit.select(0, index), index);
  }

  /** torch.norm(x, p=2, dim=1). */
  private static Tensor l2OverDim1(Tensor x) {
    return F.norm2(x, new long[] {1}, false);
  }
}
