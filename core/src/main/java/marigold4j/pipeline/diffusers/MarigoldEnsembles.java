package marigold4j.pipeline.diffusers;

import java.util.Locale;
import marigold4j.ensemble.Bfgs;
import marigold4j.image.Resize.Interpolation;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Test-time ensembling of diffusers 0.33.1's Marigold pipelines ({@code ensemble_depth}, {@code ensemble_normals},
 * {@code ensemble_intrinsics}). Unlike the original Marigold's {@link marigold4j.ensemble.DepthEnsemble}, the depth
 * objective sums the root-mean-square difference of every member pair (each rounded through a Python float), aligns at
 * most {@code max_res} pixels on the long edge (nearest-exact), supports scale-only alignment, and clamps ranges at
 * 1e-6.
 */
public final class MarigoldEnsembles {
  private MarigoldEnsembles() {}

  /** How members are combined. */
  public enum Reduction {
    MEDIAN, MEAN, CLOSEST;

    public static Reduction parse(String s) {
      return switch (s.toLowerCase(Locale.ROOT)) {
        case "median" -> MEDIAN;
        case "mean" -> MEAN;
        case "closest" -> CLOSEST;
        default -> throw new IllegalArgumentException("unknown ensemble reduction '" + s
            + "' (depth and intrinsics: median or mean; normals: closest or mean)");
      };
    }

    public String cliName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * The settings of {@code ensemble_depth} (its {@code ensembling_kwargs}).
   *
   * @param maxRes alignment resolution on the long edge; null aligns at full resolution
   */
  public record DepthSettings(double regularizerStrength, int maxIter, double tol, Integer maxRes) {
    public DepthSettings {
      if (maxIter < 0) throw new IllegalArgumentException("--ensemble-max-iter must be 0 or more, got " + maxIter);
      if (tol < 0) throw new IllegalArgumentException("--ensemble-tol must be 0 or more, got " + tol);
      if (maxRes != null && maxRes < 1) {
        throw new IllegalArgumentException("--ensemble-max-res must be 1 or more, got " + maxRes);
      }
    }

    /** diffusers' defaults: regularizer strength 0.02, 2 iterations, tol 1e-3, max_res 1024. */
    public static DepthSettings defaults() {
      return new DepthSettings(0.02, 2, 1e-3, 1024);
    }
  }

  /** An ensembled map (1, C, H, W), its uncertainty (1, 1|C, H, W) or null, the optimiser's result (depth only). */
  public record Result(Tensor prediction, Tensor uncertainty, Bfgs.Result optimisation) {}

  /**
   * {@code ensemble_depth} of the members (E, 1, H, W).
   *
   * @param x the alignment parameters to use instead of optimising ([s..., t...] or [s...]); null optimises
   */
  public static Result depth(Tensor depth, boolean scaleInvariant, boolean shiftInvariant, boolean uncertainty,
      Reduction reduction, DepthSettings s, double[] x) {
    if (reduction != Reduction.MEDIAN && reduction != Reduction.MEAN) {
      throw new IllegalArgumentException("--ensemble-reduction " + reduction.cliName()
          + " is not supported for depth (use median or mean)");
    }
    if (depth.dim() != 4 || depth.size(1) != 1) {
      throw new IllegalArgumentException("depth members must be (E, 1, H, W), got "
          + java.util.Arrays.toString(Tensors.shape(depth)));
    }
    if (!scaleInvariant && shiftInvariant) throw new IllegalArgumentException("pure shift-invariant ensembling "
        + "is not supported");
    int e = (int) depth.size(0);
    Bfgs.Result opt = null;
    Tensor members = depth;
    if (scaleInvariant || shiftInvariant) {
      double[] param = x;
      if (param == null) {
        Tensor toAlign = depth.to(torch.ScalarType.Float);
        if (s.maxRes() != null && Math.max(toAlign.size(2), toAlign.size(3)) > s.maxRes()) {
          toAlign = MarigoldImageProcessor.resizeToMaxEdge(toAlign, s.maxRes(), Interpolation.NEAREST_EXACT);
        }
        Tensor input = toAlign;
        opt = Bfgs.minimize(p -> cost(input, p, e, shiftInvariant, reduction, s), initialParams(input, e, shiftInvariant),
            s.tol(), s.maxIter());
        param = opt.x();
      }
      members = align(depth, param, e, shiftInvariant);
    }
    Tensor[] r = reduce(members, reduction, uncertainty);
    Tensor pred = r[0];
    Tensor max = pred.max();
    Tensor min = shiftInvariant ? pred.min() : F.scalarTensor(F.s(0.0), Tensors.dtype(pred));
    Tensor range = F.clampMin(max.sub(min), 1e-6);
    Tensor out = pred.sub(min).div(range);
    Tensor unc = uncertainty ? r[1].div(range) : null;
    return new Result(out, unc, opt);
  }

  static double[] initialParams(Tensor depth, int e, boolean shiftInvariant) {
    Tensor flat = depth.reshape(e, -1);
    Tensor min = flat.min(1, false).get0();
    Tensor max = flat.max(1, false).get0();
    if (shiftInvariant) {
      Tensor sc = F.reciprocal(F.clampMin(max.sub(min), 1e-6));
      Tensor t = sc.neg().mul(min);
      float[] sv = Tensors.toFloats(sc);
      float[] tv = Tensors.toFloats(t);
      double[] p = new double[2 * e];
      for (int i = 0; i < e; i++) {
        p[i] = sv[i];
        p[e + i] = tv[i];
      }
      return p;
    }
    float[] sv = Tensors.toFloats(F.reciprocal(F.clampMin(max, 1e-6)));
    double[] p = new double[e];
    for (int i = 0; i < e; i++) p[i] = sv[i];
    return p;
  }

  static Tensor align(Tensor depth, double[] param, int e, boolean shiftInvariant) {
    torch.ScalarType dtype = Tensors.dtype(depth);
    Tensor s = Tensors.fromDoubles(java.util.Arrays.copyOfRange(param, 0, e), e).to(depth.device(), dtype)
        .view(e, 1, 1, 1);
    Tensor out = depth.mul(s);
    if (shiftInvariant) {
      Tensor t = Tensors.fromDoubles(java.util.Arrays.copyOfRange(param, e, 2 * e), e).to(depth.device(), dtype)
          .view(e, 1, 1, 1);
      out = out.add(t);
    }
    return out;
  }

  private static double cost(Tensor depth, double[] param, int e, boolean shiftInvariant, Reduction reduction,
      DepthSettings s) {
    try (PointerScope scope = new PointerScope()) {
      double cost = 0.0;
      Tensor aligned = align(depth, param, e, shiftInvariant);
      for (int i = 0; i < e; i++) {
        for (int j = i + 1; j < e; j++) {
          Tensor diff = aligned.select(0, i).sub(aligned.select(0, j));
          cost += diff.pow(F.s(2.0)).mean().sqrt().item_float();
        }
      }
      if (s.regularizerStrength() > 0) {
        Tensor pred = reduce(aligned, reduction, false)[0];
        double near = pred.min().abs().item_float();
        double far = F.rsub(1.0, pred.max()).abs().item_float();
        cost += (near + far) * s.regularizerStrength();
      }
      return cost;
    }
  }

  /** Reduces members along dim 0: {prediction (1, ...), uncertainty (1, ...) or null}. */
  private static Tensor[] reduce(Tensor members, Reduction reduction, boolean uncertainty) {
    if (reduction == Reduction.MEAN) {
      Tensor pred = F.mean(members, new long[] {0}, true);
      return new Tensor[] {pred, uncertainty ? members.std(new long[] {0}, true, true) : null};
    }
    Tensor pred = members.median(0, true).get0();
    Tensor unc = uncertainty ? members.sub(pred).abs().median(0, true).get0() : null;
    return new Tensor[] {pred, unc};
  }

  /** {@code normalize_normals}: {@code n / max(||n||, eps)} over dim 1. */
  public static Tensor normalizeNormals(Tensor normals) {
    return normals.div(F.clampMin(F.norm2(normals, new long[] {1}, true), 1e-6));
  }

  /** {@code ensemble_normals} of the members (E, 3, H, W): closest member per pixel or the normalised mean. */
  public static Result normals(Tensor normals, boolean uncertainty, Reduction reduction) {
    if (reduction != Reduction.CLOSEST && reduction != Reduction.MEAN) {
      throw new IllegalArgumentException("--ensemble-reduction " + reduction.cliName()
          + " is not supported for normals (use closest or mean)");
    }
    Tensor mean = normalizeNormals(F.mean(normals, new long[] {0}, true));          // (1, 3, H, W)
    Tensor cos = F.clamp(F.sum(mean.mul(normals), new long[] {1}, true), -1, 1);     // (E, 1, H, W)
    Tensor unc = null;
    if (uncertainty) unc = F.mean(cos.arccos(), new long[] {0}, true).div(F.s(Math.PI));
    if (reduction == Reduction.MEAN) return new Result(mean, unc, null);
    Tensor idx = F.argmax(cos, 0, true).repeat(1, 3, 1, 1);                  // (1, 3, H, W)
    return new Result(normals.gather(0, idx), unc, null);
  }

  /** {@code ensemble_intrinsics} of the members (E, T, 3, H, W): (T, 3, H, W) and its uncertainty. */
  public static Result intrinsics(Tensor targets, boolean uncertainty, Reduction reduction) {
    if (reduction != Reduction.MEDIAN && reduction != Reduction.MEAN) {
      throw new IllegalArgumentException("--ensemble-reduction " + reduction.cliName()
          + " is not supported for intrinsics (use median or mean)");
    }
    Tensor[] r = reduce(targets, reduction, uncertainty);
    return new Result(r[0].squeeze(0), r[1] == null ? null : r[1].squeeze(0), null);
  }
}
