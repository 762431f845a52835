package marigold4j.pipeline.diffusers;

import java.util.Arrays;

/**
 * The visualisers of diffusers 0.33.1's {@code MarigoldImageProcessor}, on plain arrays with the original's float32
 * arithmetic: {@code visualize_depth} (colour map, {@code val_min} / {@code val_max}), {@code export_depth_to_16bit_png},
 * {@code visualize_normals} (axis flips), {@code visualize_intrinsics} (per target prediction space), and
 * {@code visualize_uncertainty} (percentile saturation). Colours are truncated to uint8, never rounded, as the original
 * casts them.
 *
 * <p>Colour maps: {@code Spectral} (and {@code Spectral_r}) is the original's own 11-node linear interpolation, which
 * it always uses for depth; {@code binary} (and {@code binary_r}) is matplotlib's 256-entry table, which the original
 * uses for intrinsic sub-targets when matplotlib is installed (the setup of the reference data).
 */
public final class MarigoldVisuals {
  private MarigoldVisuals() {}

  /** matplotlib's Spectral control points (matplotlib/_cm.py), float32 as the original's torch tensor holds them. */
  private static final float[][] SPECTRAL = {
      {0.61960784313725492f, 0.003921568627450980f, 0.25882352941176473f},
      {0.83529411764705885f, 0.24313725490196078f, 0.30980392156862746f},
      {0.95686274509803926f, 0.42745098039215684f, 0.2627450980392157f},
      {0.99215686274509807f, 0.68235294117647061f, 0.38039215686274508f},
      {0.99607843137254903f, 0.8784313725490196f, 0.54509803921568623f},
      {1.0f, 1.0f, 0.74901960784313726f},
      {0.90196078431372551f, 0.96078431372549022f, 0.59607843137254901f},
      {0.6705882352941176f, 0.8666666666666667f, 0.64313725490196083f},
      {0.4f, 0.76078431372549016f, 0.6470588235294118f},
      {0.19607843137254902f, 0.53333333333333333f, 0.74117647058823533f},
      {0.36862745098039218f, 0.30980392156862746f, 0.63529411764705879f}};

  private static final int LUT_SIZE = 256;

  /** The colour maps {@link #colormap} knows. */
  public static final java.util.List<String> COLOR_MAPS = java.util.List.of("Spectral", "Spectral_r", "binary",
      "binary_r");

  /** Checks a colour map name, with the list of known ones in the message. */
  public static String requireColorMap(String name) {
    if (!COLOR_MAPS.contains(name)) {
      throw new IllegalArgumentException("unknown colour map '" + name + "' (use one of " + COLOR_MAPS + ")");
    }
    return name;
  }

  /** Colours {@code values} (any length, in [0, 1]; clamped) as interleaved RGB bytes. */
  public static byte[] colormap(float[] values, String cmap) {
    requireColorMap(cmap);
    byte[] out = new byte[3 * values.length];
    if (cmap.startsWith("Spectral")) {
      boolean reversed = cmap.endsWith("_r");
      int k = SPECTRAL.length;
      for (int i = 0; i < values.length; i++) {
        float v = values[i];
        float pos = (Float.isNaN(v) ? v : Math.min(Math.max(v, 0f), 1f)) * (k - 1);
        int left = (int) pos;
        int right = Math.min(left + 1, k - 1);
        float d = pos - left;
        float[] lc = SPECTRAL[reversed ? k - 1 - left : left];
        float[] rc = SPECTRAL[reversed ? k - 1 - right : right];
        for (int c = 0; c < 3; c++) {
          float col = (1 - d) * lc[c] + d * rc[c];
          out[3 * i + c] = (byte) (int) (col * 255f);
        }
      }
    } else {
      boolean reversed = cmap.endsWith("_r");
      for (int i = 0; i < values.length; i++) {
        int idx = lutIndex(values[i]);
        int b = binaryLutByte(reversed ? LUT_SIZE - 1 - idx : idx);
        out[3 * i] = (byte) b;
        out[3 * i + 1] = (byte) b;
        out[3 * i + 2] = (byte) b;
      }
    }
    return out;
  }

  /** matplotlib's float-to-index rule: {@code int(x * N)}, 1.0 to N - 1, below 0 to the first entry, above to the last. */
  private static int lutIndex(float v) {
    float x = v * LUT_SIZE;
    if (Float.isNaN(x) || x < 0) return 0;
    if (x >= LUT_SIZE) return LUT_SIZE - 1;
    return (int) x;
  }

  /** matplotlib's "binary" table entry j as {@code bytes=True} gives it: {@code (lut * 255).astype(uint8)}. */
  private static int binaryLutByte(int j) {
    double v;
    if (j == 0) {
      v = 1.0;
    } else if (j == LUT_SIZE - 1) {
      v = 0.0;
    } else {
      double xind = (LUT_SIZE - 1) * (j * (1.0 / (LUT_SIZE - 1)));   // (N - 1) * linspace(0, 1, N)
      double distance = xind / (LUT_SIZE - 1);
      v = distance * (0.0 - 1.0) + 1.0;
    }
    return (int) (v * 255);
  }

  /** {@code visualize_depth} of one (H, W) map: interleaved RGB bytes. */
  public static byte[] depth(float[] depth, double valMin, double valMax, String cmap) {
    if (valMax <= valMin) throw new IllegalArgumentException("invalid values range: [" + valMin + ", " + valMax + "]");
    return colormap(rescale(depth, valMin, valMax), cmap);
  }

  /** {@code export_depth_to_16bit_png} of one map: {@code (d * 65535).astype(uint16)}, out-of-range values wrapped. */
  public static int[] depth16(float[] depth, double valMin, double valMax) {
    float[] d = rescale(depth, valMin, valMax);
    int[] out = new int[d.length];
    for (int i = 0; i < d.length; i++) {
      float v = d[i] * 65535f;
      out[i] = Float.isFinite(v) ? (int) ((long) v & 0xFFFF) : 0;
    }
    return out;
  }

  private static float[] rescale(float[] x, double valMin, double valMax) {
    if (valMin == 0.0 && valMax == 1.0) return x;
    float lo = (float) valMin;
    float range = (float) (valMax - valMin);
    float[] out = new float[x.length];
    for (int i = 0; i < x.length; i++) out[i] = (x[i] - lo) / range;
    return out;
  }

  /** {@code visualize_normals} of one (3, H, W) map: interleaved RGB bytes of {@code (n * flip + 1) * 0.5 * 255}. */
  public static byte[] normals(float[] chw, int h, int w, boolean flipX, boolean flipY, boolean flipZ) {
    int plane = h * w;
    float[] flip = {flipX ? -1f : 1f, flipY ? -1f : 1f, flipZ ? -1f : 1f};
    byte[] out = new byte[3 * plane];
    for (int c = 0; c < 3; c++) {
      for (int i = 0; i < plane; i++) {
        float v = (chw[c * plane + i] * flip[c] + 1.0f) * 0.5f;
        out[3 * i + c] = (byte) (int) (v * 255f);
      }
    }
    return out;
  }

  /** How an intrinsic target's values are stored ({@code target_properties[name].prediction_space}). */
  public enum PredictionSpace {
    SRGB, LINEAR, STACK;

    public static PredictionSpace parse(String s) {
      return switch (s == null ? "srgb" : s) {
        case "srgb" -> SRGB;
        case "linear" -> LINEAR;
        case "stack" -> STACK;
        default -> throw new IllegalArgumentException("prediction_space '" + s + "' (expected srgb, linear or stack)");
      };
    }
  }

  /**
   * {@code visualize_intrinsics} of one three-channel target (H, W, 3 interleaved from (3, H, W)): srgb as is; linear
   * divided by its maximum when {@code upToScale}, then raised to 1 / 2.2; a stack's own image is its raw channels.
   */
  public static byte[] intrinsicTarget(float[] chw, int h, int w, PredictionSpace space, boolean upToScale) {
    float[] x = space == PredictionSpace.LINEAR ? toDisplay(chw, upToScale) : chw;
    int plane = h * w;
    byte[] out = new byte[3 * plane];
    for (int c = 0; c < 3; c++) {
      for (int i = 0; i < plane; i++) out[3 * i + c] = (byte) (int) (x[c * plane + i] * 255f);
    }
    return out;
  }

  /** {@code visualize_intrinsics} of one scalar sub-target of a stack: (H, W) through its space, then colour-mapped. */
  public static byte[] intrinsicSubTarget(float[] hw, PredictionSpace space, boolean upToScale, String cmap) {
    float[] x = space == PredictionSpace.LINEAR ? toDisplay(hw, upToScale) : hw;
    return colormap(x, cmap);
  }

  /** Linear values for display: {@code (x / max(max(x), 1e-6) if up to scale) ** (1 / 2.2)}, in float32. */
  private static float[] toDisplay(float[] x, boolean upToScale) {
    float[] out = x.clone();
    if (upToScale) {
      float max = Float.NEGATIVE_INFINITY;
      for (float v : x) max = Math.max(max, v);
      float div = (float) Math.max(max, 1e-6);
      for (int i = 0; i < out.length; i++) out[i] = out[i] / div;
    }
    float exponent = (float) (1 / 2.2);
    for (int i = 0; i < out.length; i++) out[i] = (float) Math.pow(out[i], exponent);
    return out;
  }

  /**
   * {@code visualize_uncertainty} of one map ({@code channels} 1 or 3, (C, H, W)): {@code clip(u * 255 / p, 0, 255)}
   * to uint8, p the {@code percentile} of all values (numpy's linear interpolation). One channel gives (H, W) bytes,
   * three give interleaved RGB.
   */
  public static byte[] uncertainty(float[] chw, int channels, int h, int w, double percentile) {
    for (float v : chw) {
      if (v < 0) throw new IllegalArgumentException("uncertainty: unexpected data range, min " + v + " < 0");
    }
    float sat = (float) percentile(chw, percentile);
    int plane = h * w;
    byte[] out = new byte[chw.length];
    for (int c = 0; c < channels; c++) {
      for (int i = 0; i < plane; i++) {
        float v = chw[c * plane + i] * 255f / sat;
        float clipped = Float.isNaN(v) ? 0f : Math.min(Math.max(v, 0f), 255f);
        out[channels == 1 ? i : channels * i + c] = (byte) (int) clipped;
      }
    }
    return out;
  }

  /** numpy's {@code percentile(x, q)} with linear interpolation (its {@code _lerp}). */
  static double percentile(float[] x, double q) {
    double[] sorted = new double[x.length];
    for (int i = 0; i < x.length; i++) sorted[i] = x[i];
    Arrays.sort(sorted);
    double index = q / 100.0 * (sorted.length - 1);
    int lo = (int) Math.floor(index);
    int hi = Math.min(lo + 1, sorted.length - 1);
    double t = index - lo;
    double a = sorted[lo];
    double b = sorted[hi];
    double diff = b - a;
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
  }
}
