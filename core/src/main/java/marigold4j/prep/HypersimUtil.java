package marigold4j.prep;

import java.util.Arrays;

/**
 * The two numerical steps of Marigold's Hypersim preprocessing ({@code hypersim_util.py}): Hypersim's tone mapping
 * of the linear HDR colour and the conversion of distance-from-camera-centre to planar depth. float64 throughout,
 * as the original (which casts the float16 HDF5 data with {@code astype(float)}).
 */
public final class HypersimUtil {
  /** Gamma applied after scaling ({@code 1 / 2.2}). */
  private static final double GAMMA = 1.0 / 2.2;
  private static final double INV_GAMMA = 1.0 / GAMMA;
  private static final double PERCENTILE = 90;
  private static final double BRIGHTNESS_DESIRED = 0.8;
  private static final double EPS = 0.0001;

  private HypersimUtil() {}

  /**
   * The tone-mapped image and the quantities it came from.
   *
   * @param rgb tone-mapped (H, W, 3) values in [0, 1] (NaN where the input was NaN)
   * @param brightnessP90 90th percentile of the valid pixels' brightness (NaN when no pixel is valid)
   * @param scale the factor applied before the gamma
   */
  public record ToneMapped(double[] rgb, double brightnessP90, double scale) {
    /** {@code (rgb * 255).astype(np.uint8)}: truncation (NaN becomes 0, as on x86). */
    public byte[] toUint8() {
      byte[] out = new byte[rgb.length];
      for (int i = 0; i < rgb.length; i++) out[i] = (byte) (int) (rgb[i] * 255);
      return out;
    }
  }

  /**
   * {@code tone_map(rgb, entity_id_map)}: scales so that the 90th-percentile brightness of the valid pixels
   * ({@code entity_id != -1}) becomes 0.8 after gamma 1/2.2, then applies the gamma to every pixel and clips to [0, 1].
   *
   * @param rgb (H, W, 3) linear colour, row-major
   * @param entityId (H, W) render entity ids; -1 = no geometry (0 never occurs in Hypersim)
   */
  public static ToneMapped toneMap(double[] rgb, int[] entityId) {
    if (rgb.length != 3 * entityId.length) {
      throw new IllegalArgumentException("rgb has " + rgb.length + " values for " + entityId.length + " pixels");
    }
    for (int id : entityId) {
      if (id == 0) throw new IllegalArgumentException("render_entity_id contains 0 (the original asserts it never does)");
    }
    int valid = 0;
    for (int id : entityId) if (id != -1) valid++;
    double p90 = Double.NaN;
    double scale;
    if (valid == 0) {
      scale = 1.0;
    } else {
      double[] brightness = new double[valid];
      int k = 0;
      for (int i = 0; i < entityId.length; i++) {
        if (entityId[i] == -1) continue;
        // "CCIR601 YIQ" brightness, summed left to right as numpy evaluates the expression
        brightness[k++] = 0.3 * rgb[3 * i] + 0.59 * rgb[3 * i + 1] + 0.11 * rgb[3 * i + 2];
      }
      p90 = percentile(brightness, PERCENTILE);
      scale = p90 < EPS ? 0.0 : Math.pow(BRIGHTNESS_DESIRED, INV_GAMMA) / p90;
    }
    double[] out = new double[rgb.length];
    for (int i = 0; i < rgb.length; i++) {
      double v = scale * rgb[i];
      v = Double.isNaN(v) ? v : Math.max(v, 0.0); // np.maximum propagates NaN
      v = Math.pow(v, GAMMA);
      out[i] = v < 0 ? 0 : (v > 1 ? 1 : v); // np.clip keeps NaN
    }
    return new ToneMapped(out, p90, scale);
  }

  /**
   * {@code np.percentile(values, q)} with the default linear method: sorted order statistics at
   * {@code (n - 1) * q / 100}, interpolated with numpy's {@code _lerp}. NaNs sort last and win, as in numpy.
   */
  public static double percentile(double[] values, double q) {
    if (values.length == 0) throw new IllegalArgumentException("percentile of an empty array");
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    if (Double.isNaN(sorted[n - 1])) return Double.NaN;
    double virtual = (n - 1) * (q / 100.0);
    double floor = Math.floor(virtual);
    int prev;
    int next;
    if (virtual >= n - 1) {
      prev = next = n - 1;
    } else {
      prev = (int) floor;
      next = prev + 1;
    }
    double gamma = virtual - floor;
    double a = sorted[prev];
    double b = sorted[next];
    double diff = b - a;
    // numpy's _lerp: a + diff * t, replaced by b - diff * (1 - t) where t >= 0.5
    return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
  }

  /**
   * {@code dist_2_depth(width, height, focal, distance)}: distance from the camera centre divided by the length of
   * each pixel centre's ray {@code (x, y, focal)} (evaluated in float32, as the original builds the image plane in
   * float32), times the focal length.
   *
   * @param distance (height, width) distances in metres, row-major
   * @return planar depth in metres (float64)
   */
  public static double[] distToDepth(int width, int height, double focal, double[] distance) {
    if (distance.length != width * height) {
      throw new IllegalArgumentException("distance has " + distance.length + " values, expected " + width * height);
    }
    float[] xs = linspaceFloat(-0.5 * width + 0.5, 0.5 * width - 0.5, width);
    float[] ys = linspaceFloat(-0.5 * height + 0.5, 0.5 * height - 0.5, height);
    float z = (float) focal;
    float zz = z * z;
    double[] depth = new double[distance.length];
    for (int r = 0; r < height; r++) {
      float yy = ys[r] * ys[r];
      for (int c = 0; c < width; c++) {
        // np.linalg.norm over the last axis of a float32 array: ((x^2 + y^2) + z^2), sqrt, all float32
        float norm = (float) Math.sqrt(xs[c] * xs[c] + yy + zz);
        int i = r * width + c;
        depth[i] = distance[i] / norm * focal;
      }
    }
    return depth;
  }

  /** {@code np.linspace(start, stop, num).astype(np.float32)}. */
  static float[] linspaceFloat(double start, double stop, int num) {
    float[] out = new float[num];
    if (num == 1) {
      out[0] = (float) start;
      return out;
    }
    int div = num - 1;
    double step = (stop - start) / div;
    for (int i = 0; i < num; i++) out[i] = (float) (start + i * step);
    out[num - 1] = (float) stop; // numpy sets the endpoint exactly
    return out;
  }
}
