package marigold4j.eval.normals;

import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * DSINE's per-pixel angular error ({@code utils.compute_normal_error}) in float32, following torch 1.13's
 * {@code cosine_similarity(pred, gt, dim=1)}: each vector is divided by its norm clamped to at least 1e-8, the
 * products are summed over the channels, the cosine is clamped to [-1, 1] and {@code acos(cos) * 180 / pi}
 * (multiply, then divide, in float32). Only the acos runs in libtorch; the rest is plain float32 Java arithmetic
 * in the same order of operations, which matches torch bit for bit on the fixtures.
 */
public final class NormalErrors {
  private static final float EPS = 1e-8f;
  private static final float PI = (float) Math.PI; // np.pi as torch uses it with a float32 tensor

  private NormalErrors() {}

  /** Angular errors in degrees, {@code [H, W]} row-major; both maps must have the same size and frame. */
  public static float[] angularErrorDegrees(NormalMap pred, NormalMap gt) {
    float[] cos = cosineSimilarity(pred, gt);
    for (int i = 0; i < cos.length; i++) cos[i] = Math.min(1f, Math.max(-1f, cos[i])); // NaN stays NaN, as in torch
    float[] rad = acos(cos);
    for (int i = 0; i < rad.length; i++) rad[i] = rad[i] * 180.0f / PI;
    return rad;
  }

  /** {@code cosine_similarity(pred, gt, dim=0)} per pixel, {@code [H, W]}. */
  static float[] cosineSimilarity(NormalMap pred, NormalMap gt) {
    if (pred.height() != gt.height() || pred.width() != gt.width()) {
      throw new IllegalArgumentException("prediction is " + pred.height() + "x" + pred.width() + ", ground truth "
          + gt.height() + "x" + gt.width());
    }
    int plane = pred.height() * pred.width();
    float[] p = pred.chw();
    float[] g = gt.chw();
    float[] out = new float[plane];
    for (int i = 0; i < plane; i++) {
      float px = p[i];
      float py = p[plane + i];
      float pz = p[2 * plane + i];
      float gx = g[i];
      float gy = g[plane + i];
      float gz = g[2 * plane + i];
      float pn = Math.max(norm(px, py, pz), EPS);
      float gn = Math.max(norm(gx, gy, gz), EPS);
      float cos = (px / pn) * (gx / gn) + (py / pn) * (gy / gn);
      cos += (pz / pn) * (gz / gn);
      out[i] = cos;
    }
    return out;
  }

  /** {@code linalg_vector_norm(x, 2)} over three float32 components: squares summed left to right, then sqrt. */
  static float norm(float x, float y, float z) {
    float s = x * x + y * y;
    s += z * z;
    return (float) Math.sqrt(s); // sqrt in double then rounded is the correctly rounded float32 sqrt
  }

  /**
   * torch's float32 {@code acos}, computed by libtorch itself: its vectorised kernel is not correctly rounded (one
   * ulp off on a few percent of the values, more after the scaling to degrees), and calling it reproduces the
   * original's errors bit for bit where a double-precision acos would not.
   */
  static float[] acos(float[] values) {
    Engine.init();
    float[] out = new float[values.length];
    if (values.length == 0) return out;
    try (PointerScope scope = new PointerScope()) { // Java in, Java out: no tensor outlives the call
      Tensor t = torch.acos(Tensors.fromFloats(values, values.length));
      t.data_ptr_float().get(out);
    }
    return out;
  }
}
