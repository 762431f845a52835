package marigold4j.eval.normals;

/**
 * The input preparation of the DSINE benchmark ({@code --mode benchmark}: no resize, no crop): the loader's
 * ImageNet normalisation ({@code data/augmentations/basic.py}: {@code ToTensor}, {@code Normalize}) followed by the
 * test script's conversion back to an 8-bit image for the diffusion pipeline ({@code projects/dsine/test.py}).
 * All arithmetic is float32, as in the original.
 */
public final class DsineInput {
  private static final float[] MEAN = {0.485f, 0.456f, 0.406f};
  private static final float[] STD = {0.229f, 0.224f, 0.225f};

  private DsineInput() {}

  /** The loader's {@code img}: {@code clip(u8 / 255, 0, 1)}, then {@code (x - mean) / std} per channel; {@code [3, H, W]}. */
  public static float[] imageNetNormalized(Rgb8Image rgb) {
    int plane = rgb.height() * rgb.width();
    float[] out = new float[3 * plane];
    for (int p = 0; p < plane; p++) {
      for (int c = 0; c < 3; c++) {
        float v = (rgb.hwc()[p * 3 + c] & 0xff) / 255.0f;
        out[c * plane + p] = (v - MEAN[c]) / STD[c];
      }
    }
    return out;
  }

  /**
   * What the pipeline receives: the normalised image min-max scaled over the whole tensor to {@code [0, 255]} and
   * truncated to uint8 ({@code ((img - min) / (max - min) * 255).astype(uint8)}). The ImageNet normalisation is thus
   * undone only up to a per-image affine map: the model sees a contrast-stretched image, as in the seed. The range
   * {@code max - min} is a Python float (double) that torch rounds to float32 when dividing.
   */
  public static Rgb8Image modelInput(float[] normalizedChw, int height, int width) {
    int plane = height * width;
    float min = Float.POSITIVE_INFINITY;
    float max = Float.NEGATIVE_INFINITY;
    for (float v : normalizedChw) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    float range = (float) ((double) max - (double) min);
    byte[] hwc = new byte[3 * plane];
    for (int c = 0; c < 3; c++) {
      for (int p = 0; p < plane; p++) {
        float v = (normalizedChw[c * plane + p] - min) / range * 255.0f;
        // numpy's float -> uint8 cast truncates; a constant image gives NaN here, which becomes 0
        hwc[p * 3 + c] = (byte) (Float.isNaN(v) ? 0 : (int) v);
      }
    }
    return new Rgb8Image(height, width, hwc);
  }

  /** Both steps: the 8-bit image the pipeline is called with for a sample's RGB image. */
  public static Rgb8Image forModel(Rgb8Image rgb) {
    return modelInput(imageNetNormalized(rgb), rgb.height(), rgb.width());
  }
}
