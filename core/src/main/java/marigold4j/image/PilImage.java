package marigold4j.image;

import java.util.Objects;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * An 8-bit image as PIL holds it right after {@code Image.open}: its mode and interleaved (H, W, bands) pixels.
 * Palette ({@code P}) and bilevel ({@code 1}) images are stored already expanded (to RGB, resp. 0/255 grey) but keep
 * their mode, because PIL resizes them with nearest-neighbour; 16-bit grey ({@code I}) is stored as PIL's
 * {@code convert("RGB")} would see it (clipped to 255).
 *
 * @param pixels row-major, {@code mode.bands()} bytes per pixel (unsigned)
 */
public record PilImage(Mode mode, int width, int height, byte[] pixels) {

  /** PIL image modes that the readers produce. */
  public enum Mode {
    L(1), LA(2), RGB(3), RGBA(4), P(3), BILEVEL(1), I(1);

    private final int bands;

    Mode(int bands) {
      this.bands = bands;
    }

    /** Bytes per pixel in {@link PilImage#pixels()}. */
    public int bands() {
      return bands;
    }

    /** PIL's name for the mode. */
    public String pilName() {
      return this == BILEVEL ? "1" : name();
    }
  }

  public PilImage {
    Objects.requireNonNull(mode);
    if (width <= 0 || height <= 0) throw new IllegalArgumentException("empty image " + width + "x" + height);
    if (pixels.length != (long) width * height * mode.bands()) {
      throw new IllegalArgumentException(mode + " " + width + "x" + height + " needs " + (long) width * height
          * mode.bands() + " bytes, got " + pixels.length);
    }
  }

  /** A BufferedImage as PIL would hold the same pixels: RGBA when it has alpha, RGB otherwise. */
  public static PilImage fromBufferedImage(java.awt.image.BufferedImage image) {
    int w = image.getWidth();
    int h = image.getHeight();
    boolean alpha = image.getColorModel().hasAlpha();
    int bands = alpha ? 4 : 3;
    int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
    byte[] px = new byte[w * h * bands];
    for (int i = 0; i < argb.length; i++) {
      px[bands * i] = (byte) (argb[i] >> 16);
      px[bands * i + 1] = (byte) (argb[i] >> 8);
      px[bands * i + 2] = (byte) argb[i];
      if (alpha) px[bands * i + 3] = (byte) (argb[i] >>> 24);
    }
    return new PilImage(alpha ? Mode.RGBA : Mode.RGB, w, h, px);
  }

  /** The unsigned sample of band {@code b} at (x, y). */
  public int sample(int x, int y, int b) {
    return pixels[(y * width + x) * mode.bands() + b] & 0xff;
  }

  /**
   * PIL's {@code convert("RGB")}: alpha is dropped without compositing, grey is replicated, palettes were already
   * expanded, 16-bit grey was clipped at read time.
   *
   * @return interleaved (H, W, 3) bytes
   */
  public byte[] rgbPixels() {
    int n = width * height;
    int bands = mode.bands();
    byte[] out = new byte[n * 3];
    for (int i = 0; i < n; i++) {
      int src = i * bands;
      if (bands >= 3) {
        out[3 * i] = pixels[src];
        out[3 * i + 1] = pixels[src + 1];
        out[3 * i + 2] = pixels[src + 2];
      } else {
        out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = pixels[src];
      }
    }
    return out;
  }

  /** {@code convert("RGB")} as a uint8 (3, H, W) tensor, the layout Marigold feeds to {@code resize_max_res}. */
  public Tensor toRgbChw() {
    return hwcToTensor(rgbPixels(), height, width, 3).permute(2, 0, 1).contiguous(); // (H, W, 3) -> (3, H, W)
  }

  /** {@code np.asarray(image.convert("RGB"))} as a uint8 (H, W, 3) tensor (GeoWizard's layout). */
  public Tensor toRgbHwc() {
    return hwcToTensor(rgbPixels(), height, width, 3);
  }

  static Tensor hwcToTensor(byte[] hwc, int h, int w, int c) {
    return Tensors.fromBytes(hwc, h, w, c);
  }
}
