package marigold4j.image;

import java.util.Arrays;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * Pillow 9.4's {@code Image.resize(size)} with its default filter, in plain Java, as GeoWizard resizes its input
 * image (before {@code convert("RGB")}) and its float maps.
 *
 * <p>8-bit modes use bicubic (a = -0.5, support stretched by the downscale factor) with Pillow's 22-bit fixed-point
 * coefficients: a horizontal pass rounded to uint8, then a vertical pass. {@code RGBA} / {@code LA} are resized
 * premultiplied by alpha ({@code RGBa} / {@code La}) and un-premultiplied afterwards with Pillow's integer
 * arithmetic. Float ({@code F}) maps use the same coefficients in double precision, stored as float32 between passes.
 * Palette and bilevel images are resized with nearest-neighbour, as Pillow forces for them.
 *
 * <p>Also the explicit {@code BILINEAR} (8-bit) and {@code NEAREST} (float) resizes torchvision's
 * {@code transforms.Resize} applies to PIL training images. One implementation of Pillow's kernels for all of them.
 */
public final class PilResize {
  private static final int PRECISION_BITS = 32 - 8 - 2;

  private PilResize() {}

  /** The resampling filters used here, with Pillow's supports and kernels ({@code Resample.c}). */
  private enum Filter {
    /** Pillow's {@code bilinear_filter}: the triangle, support 1. */
    BILINEAR(1.0),
    /** Pillow's {@code bicubic_filter}, a = -0.5, support 2. */
    BICUBIC(2.0);

    final double support;

    Filter(double support) {
      this.support = support;
    }

    double weight(double x) {
      if (x < 0.0) x = -x;
      if (this == BILINEAR) return x < 1.0 ? 1.0 - x : 0.0;
      final double a = -0.5;
      if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
      if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
      return 0.0;
    }
  }

  /** {@code image.resize((width, height))} with Pillow's default filter for the mode. */
  public static PilImage resize(PilImage im, int width, int height) {
    if (width <= 0 || height <= 0) throw new IllegalArgumentException("bad size " + width + "x" + height);
    if (width == im.width() && height == im.height()) return new PilImage(im.mode(), width, height,
        im.pixels().clone());
    return switch (im.mode()) {
      case P, BILEVEL -> nearest(im, width, height);
      case L, RGB -> bicubic8(im, width, height);
      case RGBA, LA -> unpremultiply(bicubic8(premultiply(im), width, height));
      case I -> throw new IllegalArgumentException("16-bit greyscale (mode I) resizing is not supported");
    };
  }

  /**
   * {@code Image.fromarray(float32 (H, W)).resize((width, height))}: bicubic on a mode {@code F} image.
   *
   * @param map row-major (inHeight, inWidth) values
   */
  public static float[] resizeFloat(float[] map, int inWidth, int inHeight, int width, int height) {
    if (map.length != inWidth * inHeight) throw new IllegalArgumentException("need " + inWidth * inHeight + " values");
    float[] cur = map;
    int curW = inWidth;
    if (width != inWidth) {
      Coeffs c = Coeffs.of(Filter.BICUBIC, inWidth, width);
      float[] out = new float[width * inHeight];
      for (int y = 0; y < inHeight; y++) {
        for (int x = 0; x < width; x++) {
          double ss = 0.0;
          int min = c.bounds[2 * x];
          for (int k = 0; k < c.bounds[2 * x + 1]; k++) ss += cur[y * curW + min + k] * c.kk[x * c.ksize + k];
          out[y * width + x] = (float) ss;
        }
      }
      cur = out;
      curW = width;
    }
    if (height != inHeight) {
      Coeffs c = Coeffs.of(Filter.BICUBIC, inHeight, height);
      float[] out = new float[curW * height];
      for (int y = 0; y < height; y++) {
        int min = c.bounds[2 * y];
        for (int x = 0; x < curW; x++) {
          double ss = 0.0;
          for (int k = 0; k < c.bounds[2 * y + 1]; k++) ss += cur[(min + k) * curW + x] * c.kk[y * c.ksize + k];
          out[y * curW + x] = (float) ss;
        }
      }
      cur = out;
    }
    return cur == map ? map.clone() : cur;
  }

  /** {@link #resizeFloat(float[], int, int, int, int)} on a float32 (H, W) tensor. */
  public static Tensor resizeFloat(Tensor map, int width, int height) {
    long[] s = Tensors.shape(map);
    if (s.length != 2) throw new IllegalArgumentException("expected (H, W), got " + Arrays.toString(s));
    float[] out = resizeFloat(Tensors.toFloats(map), (int) s[1], (int) s[0], width, height);
    return Tensors.fromFloats(out, height, width);
  }

  /**
   * {@code image.resize((outW, outH), Image.BILINEAR)} of interleaved 8-bit pixels (Pillow: always antialiased, the
   * triangle stretched by the downscale factor, the same fixed-point passes as the default bicubic).
   *
   * @param hwc (h, w, bands) unsigned bytes
   * @return (outH, outW, bands) bytes, a new array
   */
  public static byte[] bilinear(byte[] hwc, int w, int h, int bands, int outW, int outH) {
    return resample8(hwc, w, h, bands, outW, outH, Filter.BILINEAR);
  }

  /**
   * {@code image.resize((outW, outH), Image.NEAREST)} of a mode {@code F} image.
   *
   * @param map row-major (h, w) values
   * @return row-major (outH, outW) values, a new array
   */
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

  /**
   * Source index of each output index of Pillow's NEAREST resize along one axis (its affine transform sampling at
   * pixel centres): the coordinate starts at {@code s / 2} and is accumulated ({@code s = in / out} in double), not
   * computed in closed form, which decides some ties differently from {@code floor((i + 0.5) * s)}.
   */
  public static int[] nearestIndices(int in, int out) {
    double s = (double) in / out;
    int[] idx = new int[out];
    double t = s * 0.5;
    for (int i = 0; i < out; i++) {
      idx[i] = Math.min((int) t, in - 1); // t > 0: the cast floors, as Pillow's COORD
      t += s;
    }
    return idx;
  }

  /** Pillow's {@code precompute_coeffs} for a filter over the whole input (box 0..inSize). */
  private record Coeffs(int ksize, int[] bounds, double[] kk, int[] fixed) {
    static Coeffs of(Filter filter, int inSize, int outSize) {
      double scale = (double) inSize / outSize;
      double filterscale = Math.max(scale, 1.0);
      double support = filter.support * filterscale;
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
          double w = filter.weight((x + xmin - center + 0.5) * ss);
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
      return new Coeffs(ksize, bounds, kk, fixed);
    }
  }

  private static int clip8(int v) {
    int s = v >> PRECISION_BITS; // arithmetic shift: floor, as Pillow's lookup-table clip
    return s < 0 ? 0 : Math.min(s, 255);
  }

  private static PilImage bicubic8(PilImage im, int width, int height) {
    int bands = im.mode().bands();
    byte[] out = resample8(im.pixels(), im.width(), im.height(), bands, width, height, Filter.BICUBIC);
    return new PilImage(im.mode(), width, height, out);
  }

  /**
   * Pillow's 8-bit separable resampling ({@code ImagingResampleHorizontal_8bpc} then {@code ..Vertical_8bpc}): each
   * pass sums in 22-bit fixed point and rounds to uint8; a pass whose size does not change is skipped.
   */
  private static byte[] resample8(byte[] hwc, int w, int h, int bands, int outW, int outH, Filter filter) {
    byte[] cur = hwc;
    int curW = w;
    if (outW != w) {
      Coeffs c = Coeffs.of(filter, w, outW);
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
      Coeffs c = Coeffs.of(filter, h, outH);
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

  /** Pillow's {@code MULDIV255}: round(a * b / 255) with integer arithmetic. */
  private static int mulDiv255(int a, int b) {
    int tmp = a * b + 128;
    return ((tmp >> 8) + tmp) >> 8;
  }

  /** RGBA -> RGBa / LA -> La (colour bands multiplied by alpha). */
  private static PilImage premultiply(PilImage im) {
    int bands = im.mode().bands();
    byte[] p = im.pixels().clone();
    for (int i = 0; i < p.length; i += bands) {
      int alpha = p[i + bands - 1] & 0xff;
      for (int b = 0; b < bands - 1; b++) p[i + b] = (byte) mulDiv255(p[i + b] & 0xff, alpha);
    }
    return new PilImage(im.mode(), im.width(), im.height(), p);
  }

  /** RGBa -> RGBA ({@code rgba2rgbA}) / La -> LA ({@code lA2la}), with truncating integer division. */
  private static PilImage unpremultiply(PilImage im) {
    int bands = im.mode().bands();
    boolean rgba = im.mode() == PilImage.Mode.RGBA;
    byte[] p = im.pixels();
    for (int i = 0; i < p.length; i += bands) {
      int alpha = p[i + bands - 1] & 0xff;
      for (int b = 0; b < bands - 1; b++) {
        int v = p[i + b] & 0xff;
        int out;
        if (alpha == 255) out = v;
        else if (alpha == 0) out = rgba ? v : 0; // rgba2rgbA keeps the colour, lA2la zeroes it
        else out = Math.min(255, 255 * v / alpha);
        p[i + b] = (byte) out;
      }
    }
    return im;
  }

  /** Pillow's NEAREST resize of 8-bit pixels (palette and bilevel images), with {@link #nearestIndices}. */
  private static PilImage nearest(PilImage im, int width, int height) {
    int bands = im.mode().bands();
    int[] xs = nearestIndices(im.width(), width);
    int[] ys = nearestIndices(im.height(), height);
    byte[] out = new byte[width * height * bands];
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        System.arraycopy(im.pixels(), (ys[y] * im.width() + xs[x]) * bands, out, (y * width + x) * bands, bands);
      }
    }
    return new PilImage(im.mode(), width, height, out);
  }
}
