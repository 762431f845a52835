package marigold4j.prep;

/**
 * Surface normals from a depth map with discontinuity-aware gradient (DAG) filters and MRF refinement
 * ({@code depth-to-normal-translator}, version {@code d2nt_v3}), as {@code gen_vkitti_normals.py} runs it on Virtual
 * KITTI 2.
 *
 * <p>Precision follows the original exactly: depth and the OpenCV {@code filter2D} gradients are float32 (borders
 * reflected without repeating the edge, {@code BORDER_REFLECT_101}), the soft-min weights are float32 powers of
 * float32 e promoted to float64, and everything after is float64. Arrays are row-major; normals are interleaved
 * (H, W, 3).
 */
public final class DagNormals {
  /** Virtual KITTI 2's intrinsics (from {@code vkitti_2.0.3_textgt}), used for every image size. */
  public static final float FX = 725.0087f;
  public static final float FY = 725.0087f;
  public static final float CX = 620.5f;
  public static final float CY = 187f;
  private static final double EPS = 1e-8;
  /** {@code np.e} as the float32 base numpy uses for {@code np.power(np.e, float32_array)}. */
  private static final float E_F32 = (float) Math.E;

  private DagNormals() {}

  /** Gradients along u (columns) and v (rows). */
  public record Gradients(double[] gu, double[] gv) {}

  /** Horizontal or vertical soft-min weights (left/up and right/down). */
  public record Weights(double[] first, double[] second) {}

  /**
   * The whole chain: DAG gradients, normal from the depth gradients and intrinsics, normalisation, MRF refinement,
   * and the final flip towards the camera.
   *
   * @param depthCm float32 depth in centimetres, (h, w)
   * @return unit normals (x, y, z), interleaved (h, w, 3)
   */
  public static double[] depthToNormals(float[] depthCm, int h, int w) {
    Gradients g = dagFilter(depthCm, h, w);
    double[] n = normalsFromGradients(depthCm, g, h, w);
    n = mrfOptim(depthCm, n, h, w);
    for (int i = 0; i < n.length; i++) n[i] = n[i] * -1;
    return n;
  }

  /**
   * {@code est_normal} before the MRF step: {@code (Gu fx, Gv fy, -(Z + v Gv + u Gu))} with 1-based pixel
   * coordinates relative to the principal point, divided by its length plus 1e-8.
   */
  public static double[] normalsFromGradients(float[] z, Gradients g, int h, int w) {
    double[] n = new double[h * w * 3];
    for (int r = 0; r < h; r++) {
      double v = (r + 1) - (double) CY;
      for (int c = 0; c < w; c++) {
        double u = (c + 1) - (double) CX;
        int i = r * w + c;
        double nx = g.gu()[i] * FX;
        double ny = g.gv()[i] * FY;
        double nz = -((z[i] + v * g.gv()[i]) + u * g.gu()[i]);
        // np.linalg.norm over the last axis: ((x^2 + y^2) + z^2)
        double mag = Math.sqrt(nx * nx + ny * ny + nz * nz) + EPS;
        n[3 * i] = nx / mag;
        n[3 * i + 1] = ny / mag;
        n[3 * i + 2] = nz / mag;
      }
    }
    return n;
  }

  /** {@code get_DAG_filter(Z)} with base e and the 1-D discontinuity-aware Laplacian ({@code 1D-DLF}). */
  public static Gradients dagFilter(float[] z, int h, int w) {
    float[] gl = new float[h * w];
    float[] gr = new float[h * w];
    float[] gu = new float[h * w];
    float[] gd = new float[h * w];
    float[] lapH = new float[h * w];
    float[] lapV = new float[h * w];
    for (int r = 0; r < h; r++) {
      for (int c = 0; c < w; c++) {
        int i = r * w + c;
        float zc = z[i];
        gl[i] = zc - z[r * w + reflect(c - 1, w)];
        gr[i] = z[r * w + reflect(c + 1, w)] - zc;
        gu[i] = zc - z[reflect(r - 1, h) * w + c];
        gd[i] = z[reflect(r + 1, h) * w + c] - zc;
        lapH[i] = Math.abs(gl[i] - gr[i]);
        lapV[i] = Math.abs(gu[i] - gd[i]);
      }
    }
    Weights hw = softMin(lapH, h, w, true);
    Weights vw = softMin(lapV, h, w, false);
    double[] l1 = hw.first();
    double[] l2 = hw.second();
    double[] l3 = vw.first();
    double[] l4 = vw.second();
    double t = Math.E;
    // the original's four masked assignments, each seeing the previous one's result
    for (int i = 0; i < l1.length; i++) {
      if (l1[i] / (l2[i] + EPS) > t) l1[i] = 1;
      if (l1[i] / (l2[i] + EPS) > t) l2[i] = 0;
      if (l2[i] / (l1[i] + EPS) > t) l1[i] = 0;
      if (l2[i] / (l1[i] + EPS) > t) l2[i] = 1;
      if (l3[i] / (l4[i] + EPS) > t) l3[i] = 1;
      if (l3[i] / (l4[i] + EPS) > t) l4[i] = 0;
      if (l4[i] / (l3[i] + EPS) > t) l3[i] = 0;
      if (l4[i] / (l3[i] + EPS) > t) l4[i] = 1;
    }
    double[] outU = new double[h * w];
    double[] outV = new double[h * w];
    for (int i = 0; i < outU.length; i++) {
      outU[i] = l1[i] * gl[i] + l2[i] * gr[i];
      outV[i] = l3[i] * gu[i] + l4[i] * gd[i];
    }
    return new Gradients(outU, outV);
  }

  /**
   * {@code soft_min(laplace_map, e, direction)}: {@code P = e^-lap} (float32), then the neighbours' shares
   * {@code (P_left + eps/2) / (eps + P_left + P_right)} and the mirror one, with 0 beyond the border.
   *
   * @param horizontal true for left/right neighbours, false for up/down
   */
  public static Weights softMin(float[] lap, int h, int w, boolean horizontal) {
    double[] p = new double[lap.length];
    for (int i = 0; i < p.length; i++) p[i] = (float) Math.pow(E_F32, -lap[i]);
    double[] a = new double[lap.length];
    double[] b = new double[lap.length];
    for (int r = 0; r < h; r++) {
      for (int c = 0; c < w; c++) {
        int i = r * w + c;
        double pa;
        double pb;
        if (horizontal) {
          pa = c > 0 ? p[i - 1] : 0.0;
          pb = c < w - 1 ? p[i + 1] : 0.0;
        } else {
          pa = r > 0 ? p[i - w] : 0.0;
          pb = r < h - 1 ? p[i + w] : 0.0;
        }
        double den = EPS + pa + pb;
        a[i] = (pa + EPS * 0.5) / den;
        b[i] = (pb + EPS * 0.5) / den;
      }
    }
    return new Weights(a, b);
  }

  /** {@code get_filter(Z)}: plain central differences halved, float32. */
  public static Gradients basicFilter(float[] z, int h, int w) {
    double[] gu = new double[h * w];
    double[] gv = new double[h * w];
    for (int r = 0; r < h; r++) {
      for (int c = 0; c < w; c++) {
        int i = r * w + c;
        gu[i] = (z[r * w + reflect(c + 1, w)] - z[r * w + reflect(c - 1, w)]) / 2f;
        gv[i] = (z[reflect(r + 1, h) * w + c] - z[reflect(r - 1, h) * w + c]) / 2f;
      }
    }
    return new Gradients(gu, gv);
  }

  /**
   * {@code MRF_optim(depth, n_est)} with the 3x3 Laplacian ({@code DLF-alpha}): each pixel takes the normal of the
   * neighbour (left, right, up, down, or itself; first wins ties) whose |Laplacian of depth| is smallest.
   *
   * @param normals interleaved (h, w, 3)
   */
  public static double[] mrfOptim(float[] depth, double[] normals, int h, int w) {
    float[] lap = new float[h * w];
    for (int r = 0; r < h; r++) {
      for (int c = 0; c < w; c++) {
        // filter2D accumulates the kernel's non-zero taps in row-major order, in float32
        float s = 0f;
        s -= depth[reflect(r - 1, h) * w + c];
        s -= depth[r * w + reflect(c - 1, w)];
        s += 4f * depth[r * w + c];
        s -= depth[r * w + reflect(c + 1, w)];
        s -= depth[reflect(r + 1, h) * w + c];
        lap[r * w + c] = Math.abs(s);
      }
    }
    double[] out = new double[normals.length];
    for (int r = 0; r < h; r++) {
      for (int c = 0; c < w; c++) {
        int i = r * w + c;
        double[] cand = {
          c > 0 ? lap[i - 1] : Double.POSITIVE_INFINITY,
          c < w - 1 ? lap[i + 1] : Double.POSITIVE_INFINITY,
          r > 0 ? lap[i - w] : Double.POSITIVE_INFINITY,
          r < h - 1 ? lap[i + w] : Double.POSITIVE_INFINITY,
          lap[i]
        };
        int best = 0;
        for (int k = 1; k < 5; k++) if (cand[k] < cand[best]) best = k;
        int src = switch (best) {
          case 0 -> i - 1;
          case 1 -> i + 1;
          case 2 -> i - w;
          case 3 -> i + w;
          default -> i;
        };
        System.arraycopy(normals, 3 * src, out, 3 * i, 3);
      }
    }
    return out;
  }

  /** {@code ((n + 1) * 32767.5).astype(np.uint16)} per component. */
  public static int[] encode16(double[] normals) {
    int[] out = new int[normals.length];
    for (int i = 0; i < normals.length; i++) {
      double v = (normals[i] + 1) * 32767.5;
      out[i] = Double.isNaN(v) ? 0 : ((int) (long) v) & 0xffff;
    }
    return out;
  }

  /** OpenCV's {@code BORDER_REFLECT_101}: index -1 maps to 1, n maps to n - 2. */
  static int reflect(int i, int n) {
    if (n == 1) return 0;
    if (i < 0) return -i;
    if (i >= n) return 2 * n - 2 - i;
    return i;
  }
}
