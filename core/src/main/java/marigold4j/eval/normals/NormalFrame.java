package marigold4j.eval.normals;

/**
 * Camera-space frames in which the three components of a surface normal can be expressed, named by where their
 * x, y and z axes point as seen in the image: Left/Right, Up/Down, Back (towards the viewer)/Front (into the scene).
 *
 * <p>The facts this project relies on (read from the original code, not guessed):
 * <ul>
 *   <li><b>DSINE ground truth is {@link #LUB}.</b> The OASIS loader converts its files "to LUB" by negating x and y;
 *       every other DSINE dataset is stored in LUB already. The evaluation compares in this frame.</li>
 *   <li><b>The E2E-FT Marigold normal models predict in {@link #LUB}.</b> {@code training/dataloaders/load.py} turns
 *       Hypersim's camera normals (x right, y up, z back: {@link #RUB}) into right-down-front by negating y and z,
 *       orients them towards the camera and then negates the whole vector, which re-expresses the same camera-facing
 *       normal in left-up-back coordinates. GeoWizard's pipeline negates its output itself, so its {@code normal_np}
 *       is LUB too (in {@code [H, W, 3]} layout).</li>
 * </ul>
 * Hence the conversion from the model's output frame to the dataset frame is the identity for every checkpoint of
 * the seed, and DSINE's test script compares the pipeline output with the ground truth directly. A predictor in
 * another frame declares it, and {@link #convert} is the single place where components change sign.
 */
public enum NormalFrame {
  /** x left, y up, z towards the viewer: DSINE's ground-truth frame and the E2E-FT models' output frame. */
  LUB(-1, -1, -1),
  /** x right, y up, z towards the viewer (OpenGL / Hypersim camera space, the original Marigold normals). */
  RUB(1, -1, -1),
  /** x right, y down, z into the scene (OpenCV camera space). */
  RDF(1, 1, 1);

  /** The frame the DSINE evaluation compares in. */
  public static final NormalFrame DATASET = LUB;

  // Each axis as +-1 times the matching axis of right-down-front.
  private final int sx;
  private final int sy;
  private final int sz;

  NormalFrame(int sx, int sy, int sz) {
    this.sx = sx;
    this.sy = sy;
    this.sz = sz;
  }

  /**
   * Re-expresses normals given in this frame in frame {@code to}. Only signs change (exactly), so converting to the
   * same frame returns the input itself and the metrics are unaffected by round-off.
   */
  public NormalMap convert(NormalMap normals, NormalFrame to) {
    if (to == this) return normals;
    float[] in = normals.chw();
    float[] out = new float[in.length];
    int plane = normals.height() * normals.width();
    int[] sign = {sx * to.sx, sy * to.sy, sz * to.sz};
    for (int c = 0; c < 3; c++) {
      for (int i = c * plane; i < (c + 1) * plane; i++) out[i] = sign[c] < 0 ? -in[i] : in[i];
    }
    return new NormalMap(normals.height(), normals.width(), out);
  }
}
