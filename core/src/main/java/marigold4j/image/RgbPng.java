package marigold4j.image;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Plain 8-bit RGB PNG writing (colourised depth and normal maps). */
public final class RgbPng {
  private RgbPng() {}

  /** Writes a uint8 (3, H, W) tensor atomically. */
  public static void writeChw(Path file, Tensor rgb) {
    long[] s = Tensors.shape(rgb);
    if (s.length != 3 || s[0] != 3) throw new IllegalArgumentException("expected (3, H, W), got " + Arrays.toString(s));
    writeHwc(file, rgb.permute(1, 2, 0)); // (3, H, W) -> (H, W, 3)
  }

  /** Writes a uint8 (H, W, 3) tensor atomically. */
  public static void writeHwc(Path file, Tensor rgb) {
    long[] s = Tensors.shape(rgb);
    if (s.length != 3 || s[2] != 3) throw new IllegalArgumentException("expected (H, W, 3), got " + Arrays.toString(s));
    if (Tensors.dtype(rgb) != torch.ScalarType.Byte) {
      throw new IllegalArgumentException("expected a uint8 tensor, got " + Tensors.dtype(rgb));
    }
    int h = Math.toIntExact(s[0]);
    int w = Math.toIntExact(s[1]);
    Tensor c = rgb.detach().cpu().contiguous();
    byte[] hwc = new byte[h * w * 3];
    new BytePointer(c.data_ptr()).capacity(hwc.length).get(hwc);
    writeHwc(file, hwc, w, h);
  }

  /** Writes interleaved (H, W, 3) bytes atomically. */
  public static void writeHwc(Path file, byte[] hwc, int width, int height) {
    BufferedImage img = image(hwc, width, height);
    AtomicFiles.write(file, out -> {
      if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer available");
    });
  }

  /** Interleaved (H, W, 3) bytes as the bytes of the PNG file {@link #writeHwc(Path, byte[], int, int)} writes. */
  public static byte[] encodeHwc(byte[] hwc, int width, int height) {
    BufferedImage img = image(hwc, width, height);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    try {
      if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer available");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot encode an RGB PNG: " + e.getMessage(), e);
    }
    return out.toByteArray();
  }

  private static BufferedImage image(byte[] hwc, int width, int height) {
    if (hwc.length != width * height * 3) throw new IllegalArgumentException("need " + width * height * 3 + " bytes");
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
    int[] px = new int[hwc.length];
    for (int i = 0; i < px.length; i++) px[i] = hwc[i] & 0xff;
    img.getRaster().setPixels(0, 0, width, height, px); // raster bands are R, G, B whatever the storage order
    return img;
  }
}
