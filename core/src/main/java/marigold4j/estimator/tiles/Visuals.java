package marigold4j.estimator.tiles;

import marigold4j.image.Colormap;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Prediction;

/**
 * run.py's presentation of a map, for estimators without their own {@code Estimator.present}: depth coloured with
 * the colormap over [0, 1] (as {@link Colormap#colorize}: LUT index {@code int(d * 256)}, colour truncated to uint8),
 * normals as {@code ((n + 1) / 2 * 255).astype(uint8)}, other three-channel maps as {@code (x * 255)} clipped.
 */
public final class Visuals {
  private Visuals() {}

  /**
   * A prediction of {@code map} from its values.
   *
   * @param colorMap the depth colormap, or null for no depth visualisation
   * @param uncertainty (H, W) or (C, H, W), or null
   */
  public static Prediction runPy(Modality map, int h, int w, float[] values, float[] uncertainty, String colorMap) {
    int plane = h * w;
    byte[] colored = null;
    if (map.channels() == 3) {
      colored = new byte[3 * plane];
      boolean normals = map == Modality.NORMALS;
      for (int c = 0; c < 3; c++) {
        for (int i = 0; i < plane; i++) {
          float v = values[c * plane + i];
          float unit = normals ? (v + 1f) / 2f : Math.min(1f, Math.max(0f, v));
          colored[3 * i + c] = (byte) (int) (unit * 255f);
        }
      }
    } else if (colorMap != null) {
      colored = colorize(values, Colormap.named(colorMap));
    }
    return Prediction.of(map, h, w, values, colored, uncertainty, uncertaintyShape(uncertainty, h, w));
  }

  /** The shape of an uncertainty of (H, W) or (C, H, W) values, or null. */
  public static int[] uncertaintyShape(float[] uncertainty, int h, int w) {
    if (uncertainty == null) return null;
    int c = uncertainty.length / (h * w);
    return c == 1 ? new int[] {h, w} : new int[] {c, h, w};
  }

  /** {@link Colormap#colorize} of values in [0, 1] as interleaved RGB bytes, without a tensor of the image's size. */
  static byte[] colorize(float[] values, Colormap cmap) {
    double[][] lut = cmap.lut();
    byte[] out = new byte[3 * values.length];
    for (int i = 0; i < values.length; i++) {
      float v = values[i];
      if (Float.isNaN(v)) continue;                        // matplotlib's "bad" colour: black
      double[] rgba = lut[Colormap.index(Math.min(1f, Math.max(0f, v)))];
      for (int c = 0; c < 3; c++) out[3 * i + c] = (byte) (int) (rgba[c] * 255);
    }
    return out;
  }
}
