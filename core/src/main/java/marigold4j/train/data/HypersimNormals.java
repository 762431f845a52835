package marigold4j.train.data;

/**
 * Hypersim's normal previews are not consistently oriented (apple/ml-hypersim#26). The loader (after GeoWizard's
 * {@code align_normals}) flips every normal that points away from the camera, then converts Hypersim's camera axes
 * (x right, y up, z backwards) to the training convention (x left, y up, z towards the camera).
 */
final class HypersimNormals {
  private HypersimNormals() {}

  /**
   * @param normalRgb interleaved (h, w, 3) bytes, {@code (n + 1) / 2 * 255}
   * @param depth (h, w) planar depth in metres (float32, as PIL holds it)
   * @return the re-oriented normals as bytes, {@code trunc((n + 1) / 2 * 255)}
   */
  static byte[] alignToCamera(byte[] normalRgb, float[] depth, int w, int h) {
    // K = [[f, 0, W/2], [0, f, H/2], [0, 0, 1]]; its inverse maps a pixel (x, y, 1) to the ray (x - cx, y - cy, f) / f
    double f = Hypersim.FOCAL;
    double cx = w / 2.0;
    double cy = h / 2.0;
    double invF = 1.0 / f;
    double ox = -cx * invF;
    double oy = -cy * invF;
    byte[] out = new byte[normalRgb.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int i = y * w + x;
        double nx = (normalRgb[3 * i] & 0xff) / 255.0 * 2.0 - 1.0;
        double ny = -((normalRgb[3 * i + 1] & 0xff) / 255.0 * 2.0 - 1.0);
        double nz = -((normalRgb[3 * i + 2] & 0xff) / 255.0 * 2.0 - 1.0);
        double d = depth[i];
        double px = d * (invF * x + ox);
        double py = d * (invF * y + oy);
        double pz = d;
        if (nx * px + ny * py + nz * pz > 0) { // facing away from the camera
          nx = -nx;
          ny = -ny;
          nz = -nz;
        }
        out[3 * i] = toByte(-nx);
        out[3 * i + 1] = toByte(-ny);
        out[3 * i + 2] = toByte(-nz);
      }
    }
    return out;
  }

  /** {@code ((n + 1.0) / 2.0 * 255).astype(np.uint8)}. */
  private static byte toByte(double n) {
    return (byte) (int) ((n + 1.0) / 2.0 * 255);
  }
}
