package marigold4j.image;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * 16-bit greyscale PNGs of depth maps, as Marigold's {@code run.py} writes them:
 * {@code (depth * 65535.0).astype(np.uint16)} (the product in the map's own precision, then truncation), saved as a
 * PIL {@code I;16} image.
 */
public final class Png16 {
  private Png16() {}

  /**
   * Writes a depth map in [0, 1] (shape (H, W) or (1, H, W); float32 or float64) atomically.
   *
   * @throws IllegalArgumentException if a value is NaN or outside [0, 1] (numpy's cast would wrap silently)
   */
  public static void write(Path file, Tensor depth) {
    long[] s = Tensors.shape(depth);
    if (s.length == 3 && s[0] == 1) s = new long[] {s[1], s[2]};
    if (s.length != 2) throw new IllegalArgumentException("depth map must be (H, W) or (1, H, W), got "
        + Arrays.toString(Tensors.shape(depth)));
    int h = Math.toIntExact(s[0]);
    int w = Math.toIntExact(s[1]);
    int[] values = new int[h * w];
    if (Tensors.dtype(depth) == torch.ScalarType.Double) {
      Tensor c = depth.detach().cpu().contiguous();
      double[] d = new double[values.length];
      c.data_ptr_double().get(d);
      for (int i = 0; i < d.length; i++) values[i] = (int) (check(d[i], i) * 65535.0); // truncation, as astype(uint16)
    } else {
      float[] d = Tensors.toFloats(depth.detach());
      for (int i = 0; i < d.length; i++) values[i] = (int) ((float) check(d[i], i) * 65535.0f); // float32 product
    }
    writeValues(file, values, w, h);
  }

  private static double check(double v, int index) {
    if (!(v >= 0 && v <= 1)) {
      throw new IllegalArgumentException("depth value " + v + " at flat index " + index + " is outside [0, 1]");
    }
    return v;
  }

  /** Writes raw 16-bit values (row-major, 0..65535) as a greyscale PNG, atomically. */
  public static void writeValues(Path file, int[] values, int width, int height) {
    BufferedImage img = image(values, width, height);
    AtomicFiles.write(file, out -> {
      if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer available");
    });
  }

  /** Raw 16-bit values (row-major, 0..65535) as the bytes of the PNG file {@link #writeValues} writes. */
  public static byte[] encodeValues(int[] values, int width, int height) {
    BufferedImage img = image(values, width, height);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    try {
      if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer available");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot encode a 16-bit PNG: " + e.getMessage(), e);
    }
    return out.toByteArray();
  }

  private static BufferedImage image(int[] values, int width, int height) {
    if (values.length != width * height) throw new IllegalArgumentException("need " + width * height + " values");
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_USHORT_GRAY);
    WritableRaster r = img.getRaster();
    for (int v : values) {
      if (v < 0 || v > 0xffff) throw new IllegalArgumentException("16-bit value out of range: " + v);
    }
    r.setSamples(0, 0, width, height, 0, values);
    return img;
  }

  /**
   * Reads a 16-bit greyscale PNG's raw values.
   *
   * @return an int32 (H, W) tensor with values 0..65535
   * @throws ImageReadException naming the file if it is not a 16-bit single-channel PNG
   */
  public static Tensor read(Path file) {
    int[][] dims = new int[1][];
    int[] values = readValues(file, dims);
    Engine.init();
    return torch.tensor(values).reshape(dims[0][1], dims[0][0]);
  }

  /**
   * Reads a 16-bit greyscale PNG's raw values without the engine.
   *
   * @param sizeOut receives {width, height}
   * @return row-major values 0..65535
   * @throws ImageReadException naming the file if it is not a 16-bit single-channel PNG
   */
  public static int[] readSamples(Path file, int[] sizeOut) {
    int[][] dims = new int[1][];
    int[] values = readValues(file, dims);
    sizeOut[0] = dims[0][0];
    sizeOut[1] = dims[0][1];
    return values;
  }

  private static int[] readValues(Path file, int[][] dimsOut) {
    BufferedImage img;
    try {
      ImageReadException.requireRegularFile(file);
      img = ImageIO.read(file.toFile());
    } catch (IOException e) {
      throw new ImageReadException(file, "cannot decode PNG: " + e.getMessage(), e);
    }
    if (img == null) throw new ImageReadException(file, "not a supported image file");
    Raster r = img.getRaster();
    ColorModel cm = img.getColorModel();
    if (r.getNumBands() != 1 || cm.getComponentSize(0) != 16) {
      throw new ImageReadException(file, "expected a 16-bit greyscale PNG, got " + r.getNumBands() + " channel(s) of "
          + cm.getComponentSize(0) + " bits");
    }
    dimsOut[0] = new int[] {img.getWidth(), img.getHeight()};
    return r.getSamples(0, 0, img.getWidth(), img.getHeight(), 0, (int[]) null);
  }
}
