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
 */
public final class PilResize {
  private static final int PRECISION_BITS = 32 - 8 - 2;
  private static final double BICUBIC_SUPPORT = 2.0;

  private PilResize() {}

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
      Coeffs c = Coeffs.bicubic(inWidth, width);
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
      Coeffs c = Coeffs.bicubic(inHeight, height);
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

  /** Pillow's {@code precompute_coeffs} for the bicubic filter over the whole input (box 0..inSize). */
  private record Coeffs(int ksize, int[] bounds, double[] kk, int[] fixed) {
    static Coeffs bicubic(int inSize, int outSize) {
      double scale = (double) inSize / outSize;
      double filterscale = Math.max(scale, 1.0);
      double support = BICUBIC_SUPPORT * filterscale;
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
          double w = bicubicFilter((x + xmin - center + 0.5) * ss);
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

  /** Pillow's bicubic kernel, a = -0.5. */
  private static double bicubicFilter(double x) {
    final double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
  }

  private static int clip8(int v) {
    int s = v >> PRECISION_BITS; // arithmetic shift: floor, as Pillow's lookup-table clip
    return s < 0 ? 0 : Math.min(s, 255);
  }

  private static PilImage bicubic8(PilImage im, int width, int height) {
    int bands = im.mode().bands();
    byte[] cur = im.pixels();
    int curW = im.width();
    int inH = im.height();
    if (width != im.width()) {
      Coeffs c = Coeffs.bicubic(im.width(), width);
      byte[] out = new byte[width * inH * bands];
      for (int y = 0; y < inH; y++) {
        for (int x = 0; x < width; x++) {
          int min = c.bounds[2 * x];
          int n = c.bounds[2 * x + 1];
          for (int b = 0; b < bands; b++) {
            int ss = 1 << (PRECISION_BITS - 1);
            for (int k = 0; k < n; k++) ss += (cur[(y * curW + min + k) * bands + b] & 0xff) * c.fixed[x * c.ksize + k];
            out[(y * width + x) * bands + b] = (byte) clip8(ss);
          }
        }
      }
      cur = out;
      curW = width;
    }
    if (height != inH) {
      Coeffs c = Coeffs.bicubic(inH, height);
      byte[] out = new byte[curW * height * bands];
      for (int y = 0; y < height; y++) {
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
    return new PilImage(im.mode(), width, height, cur);
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

  /** Pillow's NEAREST resize: an affine transform sampling at pixel centres, coordinates accumulated in double. */
  private static PilImage nearest(PilImage im, int width, int height) {
    int bands = im.mode().bands();
    double a0 = (double) im.width() / width;
    double a4 = (double) im.height() / height;
    byte[] out = new byte[width * height * bands];
    double yo = a4 * 0.5;
    for (int y = 0; y < height; y++) {
      double xx = a0 * 0.5;
      int yin = yo < 0 ? -1 : (int) yo;
      for (int x = 0; x < width; x++) {
        int xin = xx < 0 ? -1 : (int) xx;
        if (xin >= 0 && xin < im.width() && yin >= 0 && yin < im.height()) {
          System.arraycopy(im.pixels(), (yin * im.width() + xin) * bands, out, (y * width + x) * bands, bands);
        }
        xx += a0;
      }
      yo += a4;
    }
    return new PilImage(im.mode(), width, height, out);
  }
}
