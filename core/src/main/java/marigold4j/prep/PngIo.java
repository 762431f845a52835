package marigold4j.prep;

import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import marigold4j.image.AtomicFiles;
import marigold4j.image.ImageReadException;

/** Raw-sample PNG reading and writing for the preprocessing outputs (16-bit greyscale depth, 16-bit RGB normals). */
public final class PngIo {
  private PngIo() {}

  /**
   * Raw samples of a PNG, interleaved (H, W, bands).
   *
   * @param bitDepth bits per sample (8 or 16)
   */
  public record Samples(int width, int height, int bands, int bitDepth, int[] values) {}

  /**
   * Decodes a single-channel PNG (a depth map) as {@link #read} does.
   *
   * @throws ImageReadException naming the file if it is missing, cannot be decoded or has more than one channel
   */
  public static Samples readGrey(Path file) {
    Samples s = read(file);
    if (s.bands() != 1) {
      throw new ImageReadException(file, "expected a greyscale depth PNG, got " + s.bands() + " channels");
    }
    return s;
  }

  /**
   * Decodes a PNG's raw samples (no colour conversion, 16-bit samples kept whole).
   *
   * @throws ImageReadException naming the file if it is missing or cannot be decoded
   */
  public static Samples read(Path file) {
    ImageReadException.requireRegularFile(file);
    BufferedImage img;
    try {
      img = ImageIO.read(file.toFile());
    } catch (IOException | RuntimeException e) {
      throw new ImageReadException(file, "cannot decode PNG (corrupt or truncated): " + e.getMessage(), e);
    }
    if (img == null) throw new ImageReadException(file, "not a supported image file");
    Raster r = img.getRaster();
    int bands = r.getNumBands();
    int bits = img.getColorModel().getComponentSize(0);
    int w = img.getWidth();
    int h = img.getHeight();
    int[] values = r.getPixels(0, 0, w, h, (int[]) null);
    return new Samples(w, h, bands, bits, values);
  }

  /** Writes a 16-bit RGB PNG from interleaved (H, W, 3) values 0..65535, atomically. */
  public static void writeRgb16(Path file, int[] hwc, int width, int height) {
    if (hwc.length != width * height * 3) throw new IllegalArgumentException("need " + width * height * 3 + " values");
    ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB),
        new int[] {16, 16, 16}, false, false, Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
    WritableRaster raster = cm.createCompatibleWritableRaster(width, height);
    raster.setPixels(0, 0, width, height, hwc);
    BufferedImage img = new BufferedImage(cm, raster, false, null);
    AtomicFiles.write(file, out -> {
      if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer for 16-bit RGB");
    });
  }
}
