package marigold4j.eval.depth;

/**
 * Least-squares scale-and-shift alignment ({@code align_depth_least_square} of Marigold's {@code alignment.py}).
 *
 * <p>{@code min_{s,t} sum (s * p + t - g)^2} over the masked pixels, solved in float64 (numpy's {@code lstsq}
 * promotes the float32 inputs) and rounded to float32; the aligned map {@code p * s + t} is computed in float32.
 * With a maximum resolution the fit runs on a subsampled grid that, as in the original, keeps every row and
 * subsamples only the columns: {@code torch.nn.Upsample} receives {@code [1, H, W]} arrays and treats them as
 * {@code H} one-dimensional signals of length {@code W}.
 */
public final class LeastSquaresAlignment {
  /**
   * A fitted scale and shift.
   *
   * @param scale the float32 scale used for the aligned map
   * @param shift the float32 shift
   * @param scaleF64 the float64 solution before rounding
   * @param shiftF64 the float64 solution before rounding
   * @param pixels number of pixels in the fit
   * @param fitWidth number of columns the fit used ({@code W} unless subsampled)
   */
  public record Fit(float scale, float shift, double scaleF64, double shiftF64, long pixels, int fitWidth) {}

  private LeastSquaresAlignment() {}

  /**
   * Fits {@code gt ~ s * pred + t} on {@code mask}; arrays are {@code [height, width]} in C order.
   *
   * @param maxResolution the original's {@code alignment_max_res}, or {@code null} for the full grid
   */
  public static Fit fit(float[] gt, float[] pred, boolean[] mask, int height, int width, Integer maxResolution) {
    int[] cols = fitColumns(height, width, maxResolution);
    long n = 0;
    double sumP = 0;
    double sumG = 0;
    for (int y = 0; y < height; y++) {
      int row = y * width;
      for (int c : cols) {
        if (mask[row + c]) {
          n++;
          sumP += pred[row + c];
          sumG += gt[row + c];
        }
      }
    }
    if (n == 0) {
      // numpy's lstsq of an empty system returns zeros
      return new Fit(0f, 0f, 0.0, 0.0, 0, cols.length);
    }
    double meanP = sumP / n;
    double meanG = sumG / n;
    double spp = 0;
    double spg = 0;
    for (int y = 0; y < height; y++) {
      int row = y * width;
      for (int c : cols) {
        if (mask[row + c]) {
          double dp = pred[row + c] - meanP;
          spp += dp * dp;
          spg += dp * (gt[row + c] - meanG);
        }
      }
    }
    double s;
    double t;
    if (spp == 0) {
      // a constant prediction: lstsq returns the minimum-norm solution of s * c + t = mean(g)
      double c = pred[firstMasked(mask, cols, height, width)];
      s = c * meanG / (c * c + 1);
      t = meanG / (c * c + 1);
    } else {
      s = spg / spp;
      t = meanG - s * meanP;
    }
    return new Fit((float) s, (float) t, s, t, n, cols.length);
  }

  /** {@code pred * scale + shift} in float32 (two roundings, no fused multiply-add). */
  public static float[] apply(float[] pred, Fit fit) {
    float[] out = new float[pred.length];
    for (int i = 0; i < pred.length; i++) out[i] = pred[i] * fit.scale() + fit.shift();
    return out;
  }

  /**
   * The source columns of the LS grid: all {@code width} columns, or with {@code sf = min(M / H, M / W) < 1}
   * {@code floor(W * sf)} columns {@code j -> min(floor(j * float32(1 / sf)), W - 1)} (torch's nearest kernel).
   */
  public static int[] fitColumns(int height, int width, Integer maxResolution) {
    if (maxResolution != null) {
      double sf = Math.min(maxResolution / (double) height, maxResolution / (double) width);
      if (sf < 1) {
        int outWidth = (int) Math.floor(width * sf);
        float scale = (float) (1.0 / sf);
        int[] cols = new int[outWidth];
        for (int j = 0; j < outWidth; j++) cols[j] = (int) Math.min((long) Math.floor((float) j * scale), width - 1);
        return cols;
      }
    }
    int[] cols = new int[width];
    for (int j = 0; j < width; j++) cols[j] = j;
    return cols;
  }

  /**
   * GT depth to disparity: {@code 1 / d} (float32) where {@code d > 0}, else 0 (the original's
   * {@code depth2disparity}, also used for the way back).
   */
  public static float[] inverseWherePositive(float[] depth) {
    float[] out = new float[depth.length];
    for (int i = 0; i < depth.length; i++) out[i] = depth[i] > 0 ? 1.0f / depth[i] : 0f;
    return out;
  }

  private static int firstMasked(boolean[] mask, int[] cols, int height, int width) {
    for (int y = 0; y < height; y++) {
      for (int c : cols) {
        if (mask[y * width + c]) return y * width + c;
      }
    }
    throw new IllegalStateException("empty mask");
  }
}
