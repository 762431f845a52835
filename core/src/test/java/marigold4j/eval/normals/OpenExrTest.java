package marigold4j.eval.normals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;
import org.junit.jupiter.api.Test;

/**
 * The EXR reader on files built here with the codecs of the OpenEXR specification (the fixture files, ZIP + FLOAT as
 * OpenCV writes them, are checked through {@link DsineBenchmarkTest}).
 */
class OpenExrTest {
  private static final int W = 5;
  private static final int H = 19; // more than one 16-line ZIP block

  private static float value(int c, int y, int x) {
    return (c + 1) * 0.25f * (x - 2) + y * 0.125f - c; // exact in half precision
  }

  @Test
  void decodesUncompressedFloatChannels() {
    assertPixels(OpenExr.decode(file(0, 2), "none.exr"));
  }

  @Test
  void decodesRunLengthCompressedHalfChannels() {
    assertPixels(OpenExr.decode(file(1, 1), "rle.exr"));
  }

  @Test
  void decodesZipsAndZipCompressedChannels() {
    assertPixels(OpenExr.decode(file(2, 2), "zips.exr"));
    assertPixels(OpenExr.decode(file(3, 1), "zip.exr"));
  }

  @Test
  void refusesPizCompressionNamingTheFile() {
    assertThatThrownBy(() -> OpenExr.decode(file(4, 2), "piz.exr"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("piz.exr").hasMessageContaining("PIZ");
  }

  @Test
  void refusesTiledFiles() {
    byte[] f = file(0, 2);
    f[5] |= 0x02; // version flags: tiled
    assertThatThrownBy(() -> OpenExr.decode(f, "tiled.exr")).hasMessageContaining("tiled");
  }

  @Test
  void refusesADataWindowLargerThanTheFileCanHoldBeforeAllocatingIt() {
    // found by OpenExrFuzzTest: a window of 2^30 x 19 allocated its float channels (OutOfMemoryError), a wrapped
    // size gave ArithmeticException / NegativeArraySizeException
    for (int right : new int[] {1 << 30, Integer.MAX_VALUE, -3}) {
      byte[] f = file(3, 2);
      ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putInt(dataWindowAt(f) + 8, right);   // xMax
      assertThatThrownBy(() -> OpenExr.decode(f, "huge.exr")).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("huge.exr").hasMessageContaining("dataWindow");
    }
  }

  @Test
  void refusesAttributeAndBlockSizesBeyondTheFileNamingIt() {
    // found by OpenExrFuzzTest: "newPosition > limit" from the buffer, without the file's name
    byte[] f = file(3, 2);
    ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putInt(dataWindowAt(f) - 4, 1 << 30);   // the attribute's size
    assertThatThrownBy(() -> OpenExr.decode(f, "attr.exr")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("attr.exr").hasMessageContaining("attribute 'dataWindow' declares");
  }

  /** The offset of the dataWindow attribute's value (after its name, type and size). */
  private static int dataWindowAt(byte[] f) {
    byte[] name = "dataWindow\0box2i\0".getBytes(StandardCharsets.ISO_8859_1);
    outer:
    for (int i = 0; i + name.length < f.length; i++) {
      for (int j = 0; j < name.length; j++) if (f[i + j] != name[j]) continue outer;
      return i + name.length + 4;
    }
    throw new AssertionError("no dataWindow");
  }

  @Test
  void refusesNonExrBytes() {
    assertThatThrownBy(() -> OpenExr.decode(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, "x.exr"))
        .hasMessageContaining("not an OpenEXR file");
  }

  private static void assertPixels(OpenExr.Image img) {
    assertThat(img.width()).isEqualTo(W);
    assertThat(img.height()).isEqualTo(H);
    assertThat(img.channels().keySet()).containsExactly("B", "G", "R");
    String[] rgb = {"R", "G", "B"};
    for (int c = 0; c < 3; c++) {
      float[] ch = img.channel(rgb[c]);
      for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) assertThat(ch[y * W + x]).as("%s(%d,%d)", rgb[c], y, x).isEqualTo(value(c, y, x));
      }
    }
  }

  /** A scan-line EXR with channels B, G, R (sorted, as files store them) of one pixel type. */
  static byte[] file(int compression, int pixelType) {
    ByteArrayOutputStream header = new ByteArrayOutputStream();
    ByteBuffer chl = le(3 * 18 + 1);
    for (String n : new String[] {"B", "G", "R"}) {
      chl.put(n.getBytes(StandardCharsets.US_ASCII)).put((byte) 0).putInt(pixelType).putInt(0).putInt(1).putInt(1);
    }
    chl.put((byte) 0);
    attr(header, "channels", "chlist", chl.array());
    attr(header, "compression", "compression", new byte[] {(byte) compression});
    attr(header, "dataWindow", "box2i", le(16).putInt(0).putInt(0).putInt(W - 1).putInt(H - 1).array());
    attr(header, "displayWindow", "box2i", le(16).putInt(0).putInt(0).putInt(W - 1).putInt(H - 1).array());
    attr(header, "lineOrder", "lineOrder", new byte[] {0});
    header.write(0);

    int lines = compression == 3 ? 16 : (compression == 4 ? 32 : 1);
    int size = pixelType == 1 ? 2 : 4;
    List<byte[]> chunks = new ArrayList<>();
    for (int y0 = 0; y0 < H; y0 += lines) {
      int n = Math.min(lines, H - y0);
      ByteBuffer raw = le(n * 3 * W * size);
      for (int y = y0; y < y0 + n; y++) {
        for (int c : new int[] {2, 1, 0}) { // B, G, R
          for (int x = 0; x < W; x++) {
            if (pixelType == 1) raw.putShort(toHalf(value(c, y, x)));
            else raw.putFloat(value(c, y, x));
          }
        }
      }
      byte[] packed = switch (compression) {
        case 1 -> rle(predict(split(raw.array())));
        case 2, 3, 4 -> deflate(predict(split(raw.array())));
        default -> raw.array();
      };
      if (packed.length >= raw.capacity()) packed = raw.array(); // as OpenEXR: store raw when compression does not help
      chunks.add(le(8 + packed.length).putInt(y0).putInt(packed.length).put(packed).array());
    }
    byte[] hdr = header.toByteArray();
    long offset = 8 + hdr.length + 8L * chunks.size();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(le(8).putInt(20000630).putInt(2).array());
    out.writeBytes(hdr);
    for (byte[] c : chunks) {
      out.writeBytes(le(8).putLong(offset).array());
      offset += c.length;
    }
    chunks.forEach(out::writeBytes);
    return out.toByteArray();
  }

  private static ByteBuffer le(int n) {
    return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
  }

  private static void attr(ByteArrayOutputStream out, String name, String type, byte[] value) {
    out.writeBytes(name.getBytes(StandardCharsets.US_ASCII));
    out.write(0);
    out.writeBytes(type.getBytes(StandardCharsets.US_ASCII));
    out.write(0);
    out.writeBytes(le(4).putInt(value.length).array());
    out.writeBytes(value);
  }

  private static short toHalf(float f) { // only for the exactly representable test values
    int bits = Float.floatToIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    if (f == 0) return (short) sign;
    int exp = ((bits >>> 23) & 0xff) - 127 + 15;
    return (short) (sign | (exp << 10) | ((bits >>> 13) & 0x3ff));
  }

  private static byte[] split(byte[] in) {
    byte[] t = new byte[in.length];
    int half = (in.length + 1) / 2;
    for (int i = 0; i < in.length; i++) t[(i & 1) == 0 ? i / 2 : half + i / 2] = in[i];
    return t;
  }

  private static byte[] predict(byte[] t) {
    byte[] d = t.clone();
    for (int i = 1; i < t.length; i++) d[i] = (byte) (t[i] - t[i - 1] + 128);
    return d;
  }

  private static byte[] deflate(byte[] in) {
    Deflater d = new Deflater();
    d.setInput(in);
    d.finish();
    byte[] buf = new byte[in.length * 2 + 64];
    int n = d.deflate(buf);
    d.end();
    return java.util.Arrays.copyOf(buf, n);
  }

  private static byte[] rle(byte[] in) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int i = 0;
    while (i < in.length) {
      int run = 1;
      while (i + run < in.length && in[i + run] == in[i] && run < 128) run++;
      if (run >= 3) {
        out.write(run - 1);
        out.write(in[i]);
        i += run;
      } else {
        int start = i;
        while (i < in.length && i - start < 127 && !(i + 2 < in.length && in[i] == in[i + 1] && in[i] == in[i + 2])) i++;
        out.write(-(i - start));
        out.write(in, start, i - start);
      }
    }
    return out.toByteArray();
  }
}
