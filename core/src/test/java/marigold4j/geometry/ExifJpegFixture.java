package marigold4j.geometry;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * Makes a JPEG with an EXIF APP1 segment written by hand: a JPEG from {@link ImageIO}, then right after its SOI marker
 * {@code FF E1 <len> "Exif\0\0"} and a TIFF block: header, IFD0 with one entry (0x8769, LONG: offset of the Exif IFD),
 * the Exif IFD with one entry (0xA405 FocalLengthIn35mmFilm, SHORT). {@code testdata/geometry/exif_focal35_26mm.jpg}
 * was made by {@code main} (see testdata/README.md).
 */
final class ExifJpegFixture {
  private ExifJpegFixture() {}

  /** The TIFF block of the APP1 segment (44 bytes). */
  static byte[] tiff(int focal35, boolean bigEndian) {
    ByteBuffer t = ByteBuffer.allocate(44).order(bigEndian ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
    t.put(bigEndian ? (byte) 'M' : (byte) 'I').put(bigEndian ? (byte) 'M' : (byte) 'I').putShort((short) 42).putInt(8);
    t.putShort((short) 1);                                                  // IFD0 at 8: one entry
    t.putShort((short) 0x8769).putShort((short) 4).putInt(1).putInt(26);    // Exif IFD pointer, LONG, -> 26
    t.putInt(0);                                                            // no next IFD
    t.putShort((short) 1);                                                  // Exif IFD at 26: one entry
    t.putShort((short) 0xA405).putShort((short) 3).putInt(1).putShort((short) focal35).putShort((short) 0);
    t.putInt(0);
    return t.array();
  }

  /** {@code jpeg} with the APP1 segment inserted after SOI. */
  static byte[] withExif(byte[] jpeg, int focal35, boolean bigEndian) {
    byte[] tiff = tiff(focal35, bigEndian);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(jpeg, 0, 2);                                                  // FF D8
    out.write(0xFF);
    out.write(0xE1);
    int len = 2 + 6 + tiff.length;
    out.write(len >> 8);
    out.write(len & 0xff);
    out.writeBytes("Exif\0\0".getBytes(StandardCharsets.ISO_8859_1));
    out.writeBytes(tiff);
    out.write(jpeg, 2, jpeg.length - 2);
    return out.toByteArray();
  }

  /** A small gradient JPEG without EXIF. */
  static byte[] plainJpeg(int w, int h) throws IOException {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, (x * 4) << 16 | (y * 5) << 8 | 128);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, "jpg", out);
    return out.toByteArray();
  }

  public static void main(String[] args) throws IOException {
    Files.write(Path.of(args[0]), withExif(plainJpeg(64, 48), 26, false));
  }
}
