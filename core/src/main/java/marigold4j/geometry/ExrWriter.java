package marigold4j.geometry;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.Deflater;

/**
 * A pure-Java writer of single-part scan-line OpenEXR 2.0 files with FLOAT (32-bit) channels and ZIP compression
 * (blocks of 16 lines, lossless), the layout OpenCV's {@code imwrite(".exr", float32)} produces and
 * {@link marigold4j.eval.normals.OpenExr} reads.
 *
 * <p>Per block, as OpenEXR's {@code ZipCompressor}: the lines' pixels (per line, each channel in name order, row of
 * little-endian floats), bytes split into the even- and odd-indexed halves, a delta predictor
 * ({@code d = b[i] - b[i-1] + 128}), then zlib. A block whose compressed form is not smaller is stored raw, as the
 * format allows. Channels are sorted by name, as the format requires.
 */
public final class ExrWriter {
  private static final int MAGIC = 20000630;
  private static final int LINES_PER_BLOCK = 16;     // ZIP_COMPRESSION
  private static final int FLOAT = 2;

  private ExrWriter() {}

  /**
   * Encodes {@code width x height} float32 channels.
   *
   * @param channels row-major samples per channel name ({@code Y} for a single-channel map, {@code R,G,B} for three)
   * @param comments the standard {@code comments} attribute (where the values came from), or null
   */
  public static byte[] encode(int width, int height, Map<String, float[]> channels, String comments) {
    if (width < 1 || height < 1) throw new IllegalArgumentException("EXR of size " + width + "x" + height);
    if (channels.isEmpty()) throw new IllegalArgumentException("EXR without channels");
    TreeMap<String, float[]> sorted = new TreeMap<>(channels);
    sorted.forEach((name, v) -> {
      if (v.length != width * height) {
        throw new IllegalArgumentException("EXR channel " + name + " has " + v.length + " values, not "
            + width * height);
      }
      if (name.isEmpty() || name.length() > 31) throw new IllegalArgumentException("bad EXR channel name " + name);
    });

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer head = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(MAGIC).putInt(2);
    out.writeBytes(head.array());
    ByteArrayOutputStream chlist = new ByteArrayOutputStream();
    for (String name : sorted.keySet()) {
      chlist.writeBytes(cString(name));
      chlist.writeBytes(le(16).putInt(FLOAT).putInt(0).putInt(1).putInt(1).array()); // pLinear + reserved = 0
    }
    chlist.write(0);
    attribute(out, "channels", "chlist", chlist.toByteArray());
    attribute(out, "compression", "compression", new byte[] {3});  // ZIP_COMPRESSION
    byte[] window = le(16).putInt(0).putInt(0).putInt(width - 1).putInt(height - 1).array();
    attribute(out, "dataWindow", "box2i", window);
    attribute(out, "displayWindow", "box2i", window);
    attribute(out, "lineOrder", "lineOrder", new byte[] {0});     // INCREASING_Y
    attribute(out, "pixelAspectRatio", "float", le(4).putFloat(1f).array());
    attribute(out, "screenWindowCenter", "v2f", le(8).putFloat(0f).putFloat(0f).array());
    attribute(out, "screenWindowWidth", "float", le(4).putFloat(1f).array());
    if (comments != null) attribute(out, "comments", "string", comments.getBytes(StandardCharsets.UTF_8));
    out.write(0);

    int blocks = (height + LINES_PER_BLOCK - 1) / LINES_PER_BLOCK;
    List<byte[]> chunks = new ArrayList<>(blocks);
    List<float[]> planes = new ArrayList<>(sorted.values());
    for (int b = 0; b < blocks; b++) {
      int y0 = b * LINES_PER_BLOCK;
      int lines = Math.min(LINES_PER_BLOCK, height - y0);
      ByteBuffer raw = le(lines * planes.size() * width * 4);
      for (int y = y0; y < y0 + lines; y++) {
        for (float[] plane : planes) {
          for (int x = 0; x < width; x++) raw.putFloat(plane[y * width + x]);
        }
      }
      byte[] packed = deflate(zipFilter(raw.array()));
      chunks.add(packed.length < raw.capacity() ? packed : raw.array());
    }
    long offset = out.size() + 8L * blocks;
    ByteBuffer table = le(8 * blocks);
    for (byte[] c : chunks) {
      table.putLong(offset);
      offset += 8 + c.length;
    }
    out.writeBytes(table.array());
    for (int b = 0; b < blocks; b++) {
      byte[] c = chunks.get(b);
      out.writeBytes(le(8).putInt(b * LINES_PER_BLOCK).putInt(c.length).array());
      out.writeBytes(c);
    }
    return out.toByteArray();
  }

  /** A single-channel map as channel {@code Y} (OpenCV reads it as one grey channel). */
  public static byte[] encodeGrey(int width, int height, float[] values, String comments) {
    return encode(width, height, Map.of("Y", values), comments);
  }

  /**
   * A three-channel map, (3, H, W) in C order, as channels {@code R, G, B} = channels 0, 1, 2 (OpenCV's
   * {@code imread} returns them as B, G, R).
   */
  public static byte[] encodeRgb(int width, int height, float[] chw, String comments) {
    int plane = width * height;
    if (chw.length != 3 * plane) {
      throw new IllegalArgumentException(chw.length + " values for 3x" + height + "x" + width);
    }
    return encode(width, height, Map.of("R", java.util.Arrays.copyOfRange(chw, 0, plane),
        "G", java.util.Arrays.copyOfRange(chw, plane, 2 * plane),
        "B", java.util.Arrays.copyOfRange(chw, 2 * plane, 3 * plane)), comments);
  }

  /** OpenEXR's ZIP pre-filter: even-indexed bytes then odd-indexed ones, then the delta predictor. A new array. */
  static byte[] zipFilter(byte[] raw) {
    byte[] t = new byte[raw.length];
    int half = (raw.length + 1) / 2;
    for (int i = 0; i < raw.length; i++) t[(i & 1) == 0 ? i / 2 : half + i / 2] = raw[i];
    for (int i = t.length - 1; i > 0; i--) t[i] = (byte) (t[i] - t[i - 1] + 128);
    return t;
  }

  private static byte[] deflate(byte[] data) {
    Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION);     // zlib format, as OpenEXR's compress()
    try {
      d.setInput(data);
      d.finish();
      ByteArrayOutputStream out = new ByteArrayOutputStream(data.length / 2 + 64);
      byte[] buf = new byte[65536];
      while (!d.finished()) out.write(buf, 0, d.deflate(buf));
      return out.toByteArray();
    } finally {
      d.end();
    }
  }

  private static void attribute(ByteArrayOutputStream out, String name, String type, byte[] value) {
    out.writeBytes(cString(name));
    out.writeBytes(cString(type));
    out.writeBytes(le(4).putInt(value.length).array());
    out.writeBytes(value);
  }

  private static byte[] cString(String s) {
    byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
    return java.util.Arrays.copyOf(b, b.length + 1);
  }

  private static ByteBuffer le(int n) {
    return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
  }
}
