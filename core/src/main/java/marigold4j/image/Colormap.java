package marigold4j.image;

import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * A matplotlib colormap as a 256-entry lookup table, and the seed's {@code colorize_depth_maps}: values are mapped
 * to LUT entries with no interpolation between them, exactly as {@code Colormap.__call__} indexes its table.
 */
public final class Colormap {
  /** matplotlib's default LUT size ({@code rcParams["image.lut"]}). */
  public static final int N = 256;

  /** ColorBrewer "Spectral" (11 classes), the colour list matplotlib's {@code _Spectral_data} holds, in 1/255 units. */
  private static final int[][] SPECTRAL_11 = {
      {158, 1, 66}, {213, 62, 79}, {244, 109, 67}, {253, 174, 97}, {254, 224, 139}, {255, 255, 191},
      {230, 245, 152}, {171, 221, 164}, {102, 194, 165}, {50, 136, 189}, {94, 79, 162}};

  private static final Colormap SPECTRAL = fromList(SPECTRAL_11);

  private final double[][] lut; // (N, 4) RGBA in [0, 1]

  private Colormap(double[][] lut) {
    this.lut = lut;
  }

  /** matplotlib's {@code "Spectral"} (3.6), red at 0 to violet at 1. */
  public static Colormap spectral() {
    return SPECTRAL;
  }

  /** The colormap by matplotlib name; only {@code Spectral} is built in. */
  public static Colormap named(String name) {
    if (name.equals("Spectral")) return SPECTRAL;
    throw new IllegalArgumentException("unknown colormap '" + name + "' (supported: Spectral)");
  }

  /**
   * {@code LinearSegmentedColormap.from_list(name, colors, N=256)} with evenly spaced colours: each channel is
   * linearly interpolated between the anchors at {@code linspace(0, 1, n) * 255}, evaluated at {@code 0 .. 255}
   * with the same float64 operations as matplotlib's {@code _create_lookup_table} (gamma 1).
   */
  static Colormap fromList(int[][] colors255) {
    int n = colors255.length;
    double[] x = new double[n];
    double step = 1.0 / (n - 1);
    for (int k = 0; k < n; k++) x[k] = (k == n - 1 ? 1.0 : k * step) * (N - 1); // np.linspace(0, 1, n) * (N - 1)
    double xstep = 1.0 / (N - 1);
    double[][] lut = new double[N][4];
    for (int c = 0; c < 3; c++) {
      double[] y = new double[n];
      for (int k = 0; k < n; k++) y[k] = colors255[k][c] / 255.0;
      lut[0][c] = y[0];
      lut[N - 1][c] = y[n - 1];
      for (int j = 1; j < N - 1; j++) {
        double xi = (N - 1) * (j * xstep); // (N - 1) * np.linspace(0, 1, N)
        int ind = searchsortedLeft(x, xi);
        double distance = (xi - x[ind - 1]) / (x[ind] - x[ind - 1]);
        double v = distance * (y[ind] - y[ind - 1]) + y[ind - 1];
        lut[j][c] = Math.min(1.0, Math.max(0.0, v));
      }
    }
    for (double[] e : lut) e[3] = 1.0;
    return new Colormap(lut);
  }

  /** numpy's {@code searchsorted(a, v, side="left")}: the first index i with a[i] >= v. */
  private static int searchsortedLeft(double[] a, double v) {
    int i = 0;
    while (i < a.length && a[i] < v) i++;
    return i;
  }

  /** A copy of the (256, 4) RGBA table. */
  public double[][] lut() {
    double[][] copy = new double[N][];
    for (int i = 0; i < N; i++) copy[i] = lut[i].clone();
    return copy;
  }

  /** The LUT index of a value already clipped to [0, 1], computed in float32 like a float32 depth map: int(v * 256). */
  public static int index(float v) {
    int i = (int) (v * (float) N);
    return Math.min(i, N - 1); // exactly 1.0 maps to the last entry
  }

  /**
   * {@code colorize_depth_maps(depth, 0, 1, cmap)} followed by {@code (colour * 255).astype(np.uint8)}, as the
   * pipelines do: values clipped to [0, 1], LUT index {@code int(d * 256)} in the map's precision (256 becomes 255),
   * NaN gives black, the colour truncated to uint8.
   *
   * @param depth float32 or float64 values of any shape S
   * @return uint8 (3, *S)
   */
  public Tensor colorize(Tensor depth) {
    return colorize(depth, 0, 1);
  }

  /**
   * As {@link #colorize(Tensor)} with {@code ((depth - min) / (max - min)).clip(0, 1)} first, computed in the map's
   * precision (float32 maps: both operands rounded to float32, as numpy does with Python scalars).
   */
  public Tensor colorize(Tensor depth, double min, double max) {
    long[] shape = Tensors.shape(depth);
    int n = Math.toIntExact(depth.numel());
    int[] idx = new int[n];
    if (Tensors.dtype(depth) == torch.ScalarType.Double) {
      double[] d = new double[n];
      depth.detach().cpu().contiguous().data_ptr_double().get(d);
      for (int i = 0; i < n; i++) {
        double v = (d[i] - min) / (max - min);
        idx[i] = Double.isNaN(v) ? -1 : Math.min((int) (Math.min(1.0, Math.max(0.0, v)) * N), N - 1);
      }
    } else {
      float[] d = Tensors.toFloats(depth.detach());
      float lo = (float) min;
      float range = (float) (max - min);
      for (int i = 0; i < n; i++) {
        float v = (d[i] - lo) / range;
        idx[i] = Float.isNaN(v) ? -1 : index(Math.min(1f, Math.max(0f, v)));
      }
    }
    byte[] out = new byte[3 * n];
    for (int c = 0; c < 3; c++) {
      for (int i = 0; i < n; i++) {
        // matplotlib's "bad" colour for NaN is transparent black
        double colour = idx[i] < 0 ? 0.0 : lut[idx[i]][c];
        out[c * n + i] = (byte) (int) (colour * 255);
      }
    }
    long[] outShape = new long[shape.length + 1];
    outShape[0] = 3;
    System.arraycopy(shape, 0, outShape, 1, shape.length);
    return Tensors.fromBytes(out, outShape);
  }
}
