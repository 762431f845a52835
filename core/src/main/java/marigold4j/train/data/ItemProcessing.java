package marigold4j.train.data;

/**
 * The steps both training datasets share once the images are decoded, flipped and resized / cropped
 * ({@code load.py}'s {@code __getitem__} after the transform), in float32 with the original's rounding.
 */
final class ItemProcessing {
  /** Near plane of both loaders (m). */
  static final float NEAR_PLANE = 1e-5f;
  static final double MIN_QUANTILE = 0.02;
  static final double MAX_QUANTILE = 0.98;

  private ItemProcessing() {}

  /** Mirrors interleaved (h, w, bands) pixels left to right. */
  static byte[] flipBytes(byte[] hwc, int w, int h, int bands) {
    byte[] out = new byte[hwc.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        System.arraycopy(hwc, (y * w + x) * bands, out, (y * w + (w - 1 - x)) * bands, bands);
      }
    }
    return out;
  }

  /** Mirrors a (h, w) map left to right. */
  static float[] flipFloats(float[] map, int w, int h) {
    float[] out = new float[map.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) out[y * w + (w - 1 - x)] = map[y * w + x];
    }
    return out;
  }

  /** After a horizontal flip the normals' x component changes sign: {@code R := 255 - R} on the 8-bit image. */
  static void invertRed(byte[] rgb) {
    for (int i = 0; i < rgb.length; i += 3) rgb[i] = (byte) (255 - (rgb[i] & 0xff));
  }

  /**
   * {@code ToTensor} and the processing of {@code __getitem__}: rgb and normals to [-1, 1], the valid mask from the
   * near / far planes, depth normalised by its 2 % / 98 % quantiles, normals unit length and zero where invalid.
   *
   * @param rgb interleaved (h, w, 3) bytes
   * @param depth (h, w) metres
   * @param normal interleaved (h, w, 3) bytes
   */
  static DecodedItem process(byte[] rgb, float[] depth, byte[] normal, int w, int h, float farPlane, String domain,
      String source) {
    int n = w * h;
    float[] rgbOut = new float[3 * n];
    float[] normalsOut = new float[3 * n];
    for (int i = 0; i < n; i++) {
      for (int c = 0; c < 3; c++) {
        rgbOut[c * n + i] = toTensor(rgb[3 * i + c]) * 2.0f - 1.0f; // (H, W, 3) -> (3, H, W)
        normalsOut[c * n + i] = toTensor(normal[3 * i + c]) * 2.0f - 1.0f;
      }
    }
    boolean[] mask = new boolean[n];
    int valid = 0;
    for (int i = 0; i < n; i++) {
      mask[i] = depth[i] > NEAR_PLANE && depth[i] < farPlane;
      if (mask[i]) valid++;
    }
    float[] depthOut = new float[n];
    float[] metric = new float[n];
    float lo = Float.NaN;
    float hi = Float.NaN;
    if (valid > 0) {
      float[] flat = new float[valid];
      int k = 0;
      for (int i = 0; i < n; i++) if (mask[i]) flat[k++] = depth[i];
      java.util.Arrays.sort(flat);
      lo = TorchQuantile.ofSorted(flat, MIN_QUANTILE);
      hi = TorchQuantile.ofSorted(flat, MAX_QUANTILE);
      if (lo == hi) {
        // a constant scene: the original zeroes depth and metric and empties the mask
        java.util.Arrays.fill(mask, false);
        valid = 0;
      } else {
        float range = hi - lo;
        for (int i = 0; i < n; i++) {
          float d = Math.min(Math.max(depth[i], lo), hi); // remove outliers
          if (!mask[i]) d = hi; // invalid pixels at the relative far plane
          metric[i] = d;
          float v = ((d - lo) / range) * 2.0f - 1.0f;
          depthOut[i] = Math.min(Math.max(v, -1f), 1f);
        }
      }
    }
    normalize(normalsOut, n);
    for (int i = 0; i < n; i++) {
      if (mask[i]) continue;
      normalsOut[i] = 0;
      normalsOut[n + i] = 0;
      normalsOut[2 * n + i] = 0;
    }
    return new DecodedItem(rgbOut, depthOut, metric, normalsOut, mask, valid, h, w, domain, source, lo, hi);
  }

  /** {@code ToTensor} of one 8-bit sample: the float32 division by 255. */
  static float toTensor(byte b) {
    return (float) (b & 0xff) / 255f;
  }

  /**
   * {@code F.normalize(n, dim=0)}: divides by {@code max(sqrt(x^2 + y^2 + z^2), 1e-12)}, the squares accumulated
   * with fused multiply-adds in channel order as torch's CPU norm kernel does.
   */
  static void normalize(float[] chw, int n) {
    for (int i = 0; i < n; i++) {
      float x = chw[i];
      float y = chw[n + i];
      float z = chw[2 * n + i];
      float s = Math.fma(z, z, Math.fma(y, y, x * x));
      float norm = Math.max((float) Math.sqrt(s), 1e-12f);
      chw[i] = x / norm;
      chw[n + i] = y / norm;
      chw[2 * n + i] = z / norm;
    }
  }
}
