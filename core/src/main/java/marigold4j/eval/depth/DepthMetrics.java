package marigold4j.eval.depth;

import java.util.List;
import marigold4j.torch.Engine;
import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The ten per-image depth metrics of Marigold's {@code src/util/metric.py}, computed with the same float32 torch
 * operations in the same order, so that the per-image values are the float32 results the original prints.
 *
 * <p>Inputs: prediction and ground truth as float32 {@code [H, W]} tensors and an optional bool {@code [H, W]}
 * validity mask. With a mask, invalid pixels contribute 0 to the sums (whatever NaN/inf they hold) and {@code n} is
 * the number of valid pixels; without, {@code n = H * W}. An empty mask gives NaN, as in the original.
 *
 * <p>torch splits large float32 sums across its intra-op threads, so the last bit of a metric depends on the thread
 * count. {@link #all} therefore computes with {@link #REFERENCE_THREADS} threads, the setting the reference values
 * were produced with, and restores the caller's count afterwards (do not run other torch work concurrently).
 */
public final class DepthMetrics {
  /** Metric names in the original's order (the CSV and table columns). */
  public static final List<String> NAMES = List.of("abs_relative_difference", "squared_relative_difference",
      "rmse_linear", "rmse_log", "log10", "delta1_acc", "delta2_acc", "delta3_acc", "i_rmse", "silog_rmse");

  /** Intra-op threads of the original runs the golden values come from (CPU, 2 threads). */
  public static final int REFERENCE_THREADS = 2;

  private static final long[] HW = {-1, -2};

  private DepthMetrics() {}

  /**
   * All ten metrics, in {@link #NAMES} order, each the float32 result widened to double, computed with
   * {@link #REFERENCE_THREADS} intra-op threads.
   */
  public static double[] all(Tensor pred, Tensor gt, Tensor mask) {
    Engine.init();
    int callerThreads = torch.get_num_threads();
    torch.set_num_threads(REFERENCE_THREADS);
    try {
      return allWithCurrentThreads(pred, gt, mask);
    } finally {
      torch.set_num_threads(callerThreads);
    }
  }

  private static double[] allWithCurrentThreads(Tensor pred, Tensor gt, Tensor mask) {
    return new double[] {
        absRelativeDifference(pred, gt, mask), squaredRelativeDifference(pred, gt, mask), rmseLinear(pred, gt, mask),
        rmseLog(pred, gt, mask), log10(pred, gt, mask), delta1Acc(pred, gt, mask), delta2Acc(pred, gt, mask),
        delta3Acc(pred, gt, mask), iRmse(pred, gt, mask), silogRmse(pred, gt, mask)};
  }

  /** {@code sum(|p - g| / g) / n}. */
  public static float absRelativeDifference(Tensor pred, Tensor gt, Tensor mask) {
    return meanOverPixels(pred.sub(gt).abs().div(gt), mask).item_float();
  }

  /** {@code sum(|p - g|^2 / g) / n}. */
  public static float squaredRelativeDifference(Tensor pred, Tensor gt, Tensor mask) {
    return meanOverPixels(pred.sub(gt).abs().pow(F.si(2)).div(gt), mask).item_float();
  }

  /** {@code sqrt(sum((p - g)^2) / n)}. */
  public static float rmseLinear(Tensor pred, Tensor gt, Tensor mask) {
    return rms(pred.sub(gt), mask);
  }

  /** {@code sqrt(sum((ln p - ln g)^2) / n)}. */
  public static float rmseLog(Tensor pred, Tensor gt, Tensor mask) {
    return rms(pred.log().sub(gt.log()), mask);
  }

  /** {@code mean(|log10 p - log10 g|)} over the valid pixels (a gather, then torch's mean). */
  public static float log10(Tensor pred, Tensor gt, Tensor mask) {
    Tensor p = mask == null ? pred : pred.masked_select(mask);
    Tensor g = mask == null ? gt : gt.masked_select(mask);
    return p.log10().sub(g.log10()).abs().mean().item_float();
  }

  /** Fraction of valid pixels with {@code max(p/g, g/p) < 1.25}. */
  public static float delta1Acc(Tensor pred, Tensor gt, Tensor mask) {
    return thresholdPercentage(pred, gt, 1.25, mask);
  }

  /** Fraction of valid pixels with {@code max(p/g, g/p) < 1.25^2}. */
  public static float delta2Acc(Tensor pred, Tensor gt, Tensor mask) {
    return thresholdPercentage(pred, gt, 1.25 * 1.25, mask);
  }

  /** Fraction of valid pixels with {@code max(p/g, g/p) < 1.25^3}. */
  public static float delta3Acc(Tensor pred, Tensor gt, Tensor mask) {
    return thresholdPercentage(pred, gt, 1.25 * 1.25 * 1.25, mask);
  }

  /** {@code sqrt(sum((1/p - 1/g)^2) / n)}. */
  public static float iRmse(Tensor pred, Tensor gt, Tensor mask) {
    // python's 1.0 / t is t.reciprocal() * 1.0
    return rms(pred.reciprocal().sub(gt.reciprocal()), mask);
  }

  /** {@code 100 * sqrt(sum(d^2)/n - (sum d)^2/n^2)} with {@code d = ln p - ln g}. */
  public static float silogRmse(Tensor pred, Tensor gt, Tensor mask) {
    Tensor diff = zeroInvalid(pred.log().sub(gt.log()), mask);
    Tensor n = count(diff, mask);
    Tensor first = sumHw(diff.pow(F.si(2))).div(n);
    Tensor second = sumHw(diff).pow(F.si(2)).div(n.pow(F.si(2)));
    return first.sub(second).mean().sqrt().mul(F.si(100)).item_float();
  }

  private static float thresholdPercentage(Tensor pred, Tensor gt, double threshold, Tensor mask) {
    Tensor ratio = torch.max(pred.div(gt), gt.div(pred));
    // torch.where(ratio < t, 1., 0.) as float32, invalid pixels set to 0
    Tensor hits = zeroInvalid(ratio.lt(F.s(threshold)).to(torch.ScalarType.Float), mask);
    return sumHw(hits).div(count(hits, mask)).mean().item_float();
  }

  private static float rms(Tensor diff, Tensor mask) {
    Tensor d = zeroInvalid(diff, mask);
    return sumHw(d.pow(F.si(2))).div(count(d, mask)).sqrt().mean().item_float();
  }

  /** {@code sum(x[valid], (-1, -2)) / n}, then the batch mean, as the relative-difference metrics do. */
  private static Tensor meanOverPixels(Tensor x, Tensor mask) {
    Tensor z = zeroInvalid(x, mask);
    return sumHw(z).div(count(z, mask)).mean();
  }

  private static Tensor zeroInvalid(Tensor x, Tensor mask) {
    return mask == null ? x : x.masked_fill(mask.logical_not(), F.s(0.0));
  }

  /** {@code n}: the int64 count of valid pixels, or {@code H * W}; the float32 division rounds it like torch. */
  private static Tensor count(Tensor x, Tensor mask) {
    if (mask != null) return F.sum(mask, HW, false);
    Engine.init();
    return F.scalarTensor(F.si(x.size(-1) * x.size(-2)), torch.ScalarType.Long);
  }

  private static Tensor sumHw(Tensor x) {
    return F.sum(x, HW, false);
  }
}
