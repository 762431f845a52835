package marigold4j.train.data;

/**
 * The two Pillow 9.4 resizes torchvision's {@code transforms.Resize} applies to the training images: BILINEAR on 8-bit
 * images (separable, always antialiased, 22-bit fixed point, horizontal pass rounded to uint8 before the vertical
 * pass) and NEAREST (source coordinates accumulated in double) for the float depth map.
 */
public final class PilResampling {
  private static final int PRECISION_BITS = 32 - 8 - 2;

  private PilResampling() {}

  /**
   * {@code image.resize((outW, outH), Image.BILINEAR)} of interleaved 8-bit pixels.
   *
   * @param hwc (h, w, bands) unsigned bytes
   * @return (outH, outW, bands) bytes
   */
  public static byte[] bilinear(byte[] hwc, int w, int h, int bands, int outW, int outH) {
    byte[] cur = hwc;
    int curW = w;
    if (outW != w) {
      Coeffs c = Coeffs.bilinear(w, outW);
      byte[] out = new byte[outW * h * bands];
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < outW; x++) {
          int min = c.bounds[2 * x];
          int n = c.bounds[2 * x + 1];
          for (int b = 0; b < bands; b++) {
            int ss = 1 << (PRECISION_BITS - 1);
            for (int k = 0; k < n; k++) ss += (cur[(y * curW + min + k) * bands + b] & 0xff) * c.fixed[x * c.ksize + k];
            out[(y * outW + x) * bands + b] = (byte) clip8(ss);
          }
        }
      }
      cur = out;
      curW = outW;
    }
    if (outH != h) {
      Coeffs c = Coeffs.bilinear(h, outH);
      byte[] out = new byte[curW * outH * bands];
      for (int y = 0; y < outH; y++) {
        int min = c.bounds[2 * y];
        int n = c.bounds[2 * y + 1];
        for (int x = 0; x < curW; x++) {
          for (int b = 0; b < bands; b++) {
            int ss = 1 << (PRECISION_BITS - 1);
            for (int k = 0; k < n; k++) ss += (cur[((min + k) * curW + x) * bands + b] & 0xff) * c.fixed[y * c.ksize + k];
            out[(y * curW + x) * bands + b] = (byte) clip8(ss);
          }
        }
      }
      cur = out;
    }
    return cur == hwc ? hwc.clone() : cur;
  }

  /**
   * Source index of each output index of Pillow's NEAREST resize along one axis: the coordinate starts at
   * {@code s / 2} and is accumulated ({@code s = in / out} in double), not computed in closed form.
   */
  public static int[] nearestIndices(int in, int out) {
    double s = (double) in / out;
    int[] idx = new int[out];
    double t = s * 0.5;
    for (int i = 0; i < out; i++) {
      idx[i] = Math.min((int) t, in - 1);
      t += s;
    }
    return idx;
  }

  /** {@code image.resize((outW, outH), Image.NEAREST)} of a mode {@code F} image. */
  public static float[] nearest(float[] map, int w, int h, int outW, int outH) {
    if (outW == w && outH == h) return map.clone();
    int[] xs = nearestIndices(w, outW);
    int[] ys = nearestIndices(h, outH);
    float[] out = new float[outW * outH];
    for (int y = 0; y < outH; y++) {
      int row = ys[y] * w;
      for (int x = 0; x < outW; x++) out[y * outW + x] = map[row + xs[x]];
    }
    return out;
  }

  private static int clip8(int v) {
    int s = v >> PRECISION_BITS;
    return s < 0 ? 0 : Math.min(s, 255);
  }

  /** Pillow's {@code precompute_coeffs} for the triangle filter (support 1) over the whole axis. */
  private record Coeffs(int ksize, int[] bounds, int[] fixed) {
    static Coeffs bilinear(int inSize, int outSize) {
      double scale = (double) inSize / outSize;
      double filterscale = Math.max(scale, 1.0);
      double support = 1.0 * filterscale;
      int ksize = (int) Math.ceil(support) * 2 + 1;
      double[] kk = new double[outSize * ksize];
      int[] bounds = new int[outSize * 2];
      for (int xx = 0; xx < outSize; xx++) {
        double center = (xx + 0.5) * scale;
        double ss = 1.0 / filterscale;
        int xmin = Math.max(0, (int) (center - support + 0.5)); // C casts truncate toward zero
        int xmax = Math.min(inSize, (int) (center + support + 0.5)) - xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; x++) {
          double t = Math.abs((x + xmin - center + 0.5) * ss);
          double w = t < 1.0 ? 1.0 - t : 0.0;
          kk[xx * ksize + x] = w;
          ww += w;
        }
        for (int x = 0; x < xmax; x++) {
          if (ww != 0.0) kk[xx * ksize + x] /= ww;
        }
        bounds[2 * xx] = xmin;
        bounds[2 * xx + 1] = xmax;
      }
      int[] fixed = new int[kk.length];
      for (int i = 0; i < kk.length; i++) {
        // normalize_coeffs_8bpc: round half away from zero to 22 fractional bits
        fixed[i] = (int) (kk[i] < 0 ? -0.5 + kk[i] * (1 << PRECISION_BITS) : 0.5 + kk[i] * (1 << PRECISION_BITS));
      }
      return new Coeffs(ksize, bounds, fixed);
    }
  }
}
