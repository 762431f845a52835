package marigold4j.ensemble;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import marigold4j.torch.Engine;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Test-time ensembling of affine-invariant depth maps, as Marigold's {@code ensemble_depths} (GeoWizard ships an
 * identical copy): every member i gets a scale s_i and shift t_i, found by scipy's BFGS ({@link Bfgs}) on
 *
 * <pre>
 *   sqrt(mean over pairs i &lt; j of (d_i s_i + t_i - d_j s_j - t_j)^2)
 *     + regularizer_strength * (|min(m)| + |1 - max(m)|),   m = median (or mean) over members,
 * </pre>
 *
 * <p>evaluated in the members' dtype (float32 in the pipelines) from the start {@code s_i = 1 / (max_i - min_i)},
 * {@code t_i = -s_i min_i}. The aligned members are then reduced (median with MAD uncertainty, or mean with standard
 * deviation) and min-max normalised; the uncertainty is divided by the same range.
 *
 * <p>The optimiser works on float32 rounding noise (its finite-difference step is far below a float32 ulp of the
 * scales), so its path is not robust across thread counts or libraries; {@link #ensembleWithParams} runs the rest of
 * the stage from a given optimiser result.
 */
public final class DepthEnsemble {
  /** How the aligned members are combined. */
  public enum Reduction { MEDIAN, MEAN }

  /** The ensembled depth (H, W) in [0, 1], its uncertainty (H, W), and the optimiser's result (null if given). */
  public record Result(Tensor depth, Tensor uncertainty, Bfgs.Result optimisation) {}

  private final double regularizerStrength;
  private final int maxIter;
  private final double tol;
  private final Reduction reduction;
  private final Integer maxRes;

  /** The original's defaults: regularizer_strength 0.02, max_iter 2, tol 1e-3, median, no max_res. */
  public DepthEnsemble() {
    this(0.02, 2, 1e-3, Reduction.MEDIAN, null);
  }

  /**
   * @param maxRes when not null and smaller than H or W, the objective sees the members downscaled as the original
   *     downscales them (see {@link #optimisationInput}); the output keeps the full resolution
   */
  public DepthEnsemble(double regularizerStrength, int maxIter, double tol, Reduction reduction, Integer maxRes) {
    this.regularizerStrength = regularizerStrength;
    this.maxIter = maxIter;
    this.tol = tol;
    this.reduction = reduction;
    this.maxRes = maxRes;
  }

  /** Aligns and combines the members {@code depths}: (N, H, W) or (N, 1, H, W). */
  public Result ensemble(Tensor depths) {
    Tensor members = members(depths);
    Tensor input = optimisationInput(members);
    Bfgs.Result opt = Bfgs.minimize(objective(input), initialGuess(input), tol, maxIter);
    Result r = ensembleWithParams(members, opt.x());
    return new Result(r.depth(), r.uncertainty(), opt);
  }

  /**
   * The stage after the optimiser: aligns {@code depths} with {@code x = [s_0..s_{N-1}, t_0..t_{N-1}]} (cast to the
   * members' dtype), reduces and normalises. As in the original, a constant result (max == min) gives NaN.
   */
  public Result ensembleWithParams(Tensor depths, double[] x) {
    Tensor members = members(depths);
    Tensor aligned = align(members, x); // (N, H, W)
    Tensor pred;
    Tensor uncertainty;
    if (reduction == Reduction.MEDIAN) {
      pred = aligned.median(0, false).get0();
      // MAD: median absolute deviation from the median
      uncertainty = aligned.sub(pred).abs().median(0, false).get0();
    } else {
      pred = F.mean(aligned, new long[] {0}, false);
      uncertainty = aligned.std(new long[] {0}, true, false); // unbiased, as torch.std
    }
    Tensor min = pred.min();
    Tensor range = pred.max().sub(min);
    return new Result(pred.sub(min).div(range), uncertainty.div(range), null);
  }

  /**
   * The optimiser's start: {@code [1/(max_i-min_i) ..., -s_i min_i ...]}, computed with numpy's types (float32 for
   * float32 members) and rounded to float32 as the original's {@code astype(np.float32)}.
   */
  public double[] initialGuess(Tensor depths) {
    Tensor members = members(depths);
    int n = (int) members.size(0);
    double[] x = new double[2 * n];
    if (Tensors.dtype(members) == torch.ScalarType.Double) {
      Tensor flat = members.reshape(n, -1); // (N, H*W)
      double[] mins = doubleValues(flat.min(1, false).get0());
      double[] maxs = doubleValues(flat.max(1, false).get0());
      for (int i = 0; i < n; i++) {
        double s = 1.0 / (maxs[i] - mins[i]);
        x[i] = (float) s;
        x[n + i] = (float) ((-1 * s) * mins[i]);
      }
      return x;
    }
    Tensor flat = members.reshape(n, -1).to(torch.ScalarType.Float); // (N, H*W)
    float[] mins = Tensors.toFloats(flat.min(1, false).get0());
    float[] maxs = Tensors.toFloats(flat.max(1, false).get0());
    for (int i = 0; i < n; i++) {
      float s = 1.0f / (maxs[i] - mins[i]);
      x[i] = s;
      x[n + i] = (-1 * s) * mins[i];
    }
    return x;
  }

  /**
   * The objective at {@code x}, rounded to float32 as the original returns it. Each evaluation frees its
   * temporaries (the optimiser calls it dozens of times).
   *
   * @param depths the members the optimiser sees (see {@link #optimisationInput})
   */
  public Bfgs.Objective objective(Tensor depths) {
    Tensor input = members(depths);
    return x -> {
      try (PointerScope scope = new PointerScope()) {
        Tensor aligned = align(input, x); // (N, H, W)
        Tensor dists = pairwiseDifferences(aligned); // (N(N-1)/2, H, W)
        Tensor sqrtDist = dists.pow(F.s(2.0)).mean().sqrt();
        Tensor pred = reduction == Reduction.MEDIAN
            ? aligned.median(0, false).get0()
            : F.mean(aligned, new long[] {0}, false);
        // sqrt(x**2) as the original writes |x|: in float32 it can differ from |x| in the last bit
        Tensor nearErr = pred.min().neg().pow(F.s(2.0)).sqrt();
        Tensor farErr = pred.max().neg().add(F.s(1.0)).pow(F.s(2.0)).sqrt();
        Tensor err = sqrtDist.add(nearErr.add(farErr).mul(F.s(regularizerStrength)));
        return err.item_float();
      }
    };
  }

  /**
   * The members as the optimiser sees them: unchanged, or, with {@code maxRes}, downscaled like the original's
   * {@code nn.Upsample(scale_factor, mode="nearest")} on the (N, H, W) tensor. That module reads a 3-D tensor as
   * (batch, channels, length), so only the width is resampled.
   */
  public Tensor optimisationInput(Tensor depths) {
    Tensor members = members(depths);
    if (maxRes == null) return members;
    long h = members.size(1);
    long w = members.size(2);
    // max_res / torch.tensor([H, W]) is a float32 true division
    float scale = Math.min((float) maxRes / (float) h, (float) maxRes / (float) w);
    if (!(scale < 1)) return members;
    long outW = (long) (w * (double) scale);
    long[] src = new long[(int) outW];
    float step = (float) (1.0 / (double) scale);
    for (int i = 0; i < outW; i++) {
      src[i] = outW == w ? i : Math.min((long) Math.floor(i * step), w - 1);
    }
    return members.index_select(2, Tensors.fromLongs(src, outW).to(members.device(), torch.ScalarType.Long));
  }

  /** (N, H, W) from (N, H, W) or (N, 1, H, W). */
  private static Tensor members(Tensor depths) {
    Engine.init();
    if (depths.dim() == 4 && depths.size(1) == 1) return depths.squeeze(1);
    if (depths.dim() != 3) {
      throw new IllegalArgumentException("depth members must be (N, H, W) or (N, 1, H, W), got "
          + Arrays.toString(Tensors.shape(depths)));
    }
    return depths;
  }

  /** d_i * s_i + t_i with s, t cast from float64 to the members' dtype (torch.from_numpy(s).to(dtype)). */
  private static Tensor align(Tensor members, double[] x) {
    int n = (int) members.size(0);
    if (x.length != 2 * n) throw new IllegalArgumentException("need 2N = " + 2 * n + " parameters, got " + x.length);
    torch.ScalarType dtype = Tensors.dtype(members);
    Tensor s = doubles(Arrays.copyOfRange(x, 0, n)).to(members.device(), dtype).view(-1, 1, 1); // (N, 1, 1)
    Tensor t = doubles(Arrays.copyOfRange(x, n, 2 * n)).to(members.device(), dtype).view(-1, 1, 1);
    return members.mul(s).add(t);
  }

  /** d_i - d_j for the pairs i &lt; j in torch.combinations order, concatenated along dim 0. */
  private static Tensor pairwiseDifferences(Tensor aligned) {
    int n = (int) aligned.size(0);
    List<Tensor> diffs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      for (int j = i + 1; j < n; j++) diffs.add(aligned.narrow(0, i, 1).sub(aligned.narrow(0, j, 1)));
    }
    return F.cat(0, diffs);
  }

  private static double[] doubleValues(Tensor t) {
    Tensor c = t.to(torch.ScalarType.Double).cpu().contiguous();
    double[] out = new double[Math.toIntExact(c.numel())];
    c.data_ptr_double().get(out);
    return out;
  }

  private static Tensor doubles(double[] v) {
    return Tensors.fromDoubles(v, v.length);
  }
}
