package marigold4j.train;

import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * E2E-FT's task losses ({@code training/util/loss.py}, after Depth Anything): the scale-and-shift-invariant L1 depth
 * loss and the angular normals loss. Both are computed in float32 whatever the model dtype, and both return NaN
 * when the mask selects no pixel (the caller drops such a loss, as the original does).
 */
public final class Losses {
  private Losses() {}

  /**
   * Scale-and-shift-invariant L1: per sample, the least-squares scale s and shift t of the prediction onto the
   * target over the valid pixels (closed form of the 2x2 normal equations; s = t = 0 when the system is singular),
   * then the mean absolute error of {@code s * prediction + t} against the target over all valid pixels of the batch.
   *
   * @param prediction (B, 1, H, W)
   * @param target (B, 1, H, W)
   * @param mask (B, 1, H, W) bool
   * @return a 0-d float32 tensor
   */
  public static Tensor scaleAndShiftInvariant(Tensor prediction, Tensor target, Tensor mask) {
    Tensor p = prediction.squeeze(1).to(computeDtype(prediction));               // (B, H, W)
    Tensor t = target.squeeze(1).to(computeDtype(prediction));                   // (B, H, W)
    Tensor m = mask.squeeze(1).to(torch.ScalarType.Bool);                        // (B, H, W)
    long[] hw = {1, 2};
    // Products in the original's order (mask * p * p), so float32 rounding matches.
    Tensor a00 = sum(m.mul(p).mul(p), hw);                                        // (B)
    Tensor a01 = sum(m.mul(p), hw);
    Tensor a11 = sum(m, hw);                                                      // int64 count, as torch.sum(bool)
    Tensor b0 = sum(m.mul(p).mul(t), hw);
    Tensor b1 = sum(m.mul(t), hw);
    Tensor det = a00.mul(a11).sub(a01.mul(a01));
    Tensor valid = det.gt(F.s(0));
    // Divide by 1 where the system is singular: a where() over inf/NaN would still send NaN gradients back.
    Tensor safeDet = torch.where(valid, det, F.s(1.0));
    Tensor zero = torch.zeros_like(det);
    Tensor scale = torch.where(valid, a11.mul(b0).sub(a01.mul(b1)).div(safeDet), zero);
    Tensor shift = torch.where(valid, a01.neg().mul(b0).add(a00.mul(b1)).div(safeDet), zero);
    Tensor scaled = scale.view(-1, 1, 1).mul(p).add(shift.view(-1, 1, 1));        // (B, H, W)
    return torch.masked_select(scaled, m).sub(torch.masked_select(t, m)).abs().mean();
  }

  /**
   * Mean angle (radians) between predicted and target unit normals over the valid pixels:
   * {@code acos(clamp(<prediction, target>, -1, 1))}.
   *
   * @param prediction (B, 3, H, W), already normalised
   * @param target (B, 3, H, W) unit vectors
   * @param mask (B, 1, H, W) bool (only channel 0 is used, as in the original)
   * @return a 0-d float32 tensor
   */
  public static Tensor angular(Tensor prediction, Tensor target, Tensor mask) {
    Tensor p = prediction.to(computeDtype(prediction));
    Tensor t = target.to(computeDtype(prediction));
    Tensor m = mask.select(1, 0).to(torch.ScalarType.Bool);                      // (B, H, W)
    Tensor dot = F.clamp(sum(p.mul(t), new long[] {1}), -1.0, 1.0);              // (B, H, W)
    return torch.masked_select(dot.acos(), m).mean();
  }

  /** float32, as the original computes its losses; float64 for a float64 reference replay. */
  private static torch.ScalarType computeDtype(Tensor prediction) {
    return marigold4j.torch.Tensors.dtype(prediction) == torch.ScalarType.Double ? torch.ScalarType.Double
        : torch.ScalarType.Float;
  }

  /** Weight of the depth term in GeoWizard's joint loss ("ssi loss is roughly 2x the angular loss"). */
  public static final double GEOWIZARD_DEPTH_SCALE = 0.5;
  /** Weight of the normals term in GeoWizard's joint loss. */
  public static final double GEOWIZARD_NORMAL_SCALE = 1.0;

  /**
   * GeoWizard's joint loss and its two terms.
   *
   * @param loss {@code 0.5 * ssi + 1.0 * angular} over the terms that are not NaN; null when both are NaN
   * @param ssi the depth term, NaN when it was left out
   * @param angular the normals term, NaN when it was left out
   */
  public record Joint(Tensor loss, double ssi, double angular) {}

  /**
   * GeoWizard E2E-FT's loss ({@code train_depth_normal.py}): {@code 0.5} times the {@link #scaleAndShiftInvariant
   * scale-and-shift-invariant} depth loss plus the {@link #angular angular} loss of the normals against the
   * <em>negated</em> ground truth (GeoWizard's normals point the other way). A term that is NaN is left out, as the
   * original skips it.
   *
   * @param depth (B, 1, H, W) depth estimate
   * @param normals (B, 3, H, W) normalised normal estimate
   * @param depthTarget (B, 1, H, W) metric depth
   * @param normalsTarget (B, 3, H, W) unit normals as the data loaders give them (not yet negated)
   * @param mask (B, 1, H, W) bool, shared by both terms
   */
  public static Joint geoWizard(Tensor depth, Tensor normals, Tensor depthTarget, Tensor normalsTarget, Tensor mask) {
    Tensor ssi = scaleAndShiftInvariant(depth, depthTarget, mask);
    Tensor angular = angular(normals, normalsTarget.neg(), mask);
    double ssiValue = ssi.item_double();
    double angularValue = angular.item_double();
    Tensor loss = null;
    if (!Double.isNaN(ssiValue)) loss = ssi.mul(F.s(GEOWIZARD_DEPTH_SCALE));
    if (!Double.isNaN(angularValue)) {
      Tensor a = angular.mul(F.s(GEOWIZARD_NORMAL_SCALE));
      loss = loss == null ? a : loss.add(a);
    }
    return new Joint(loss, ssiValue, angularValue);
  }

  private static Tensor sum(Tensor x, long[] dims) {
    return F.sum(x, dims, false);
  }
}
