package marigold4j.eval.normals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import marigold4j.image.Float16;

/**
 * A small pure-Java reader for single-part scan-line OpenEXR files, enough for the normal maps of the DSINE
 * evaluation sets (iBims-1 and Sintel ship {@code B,G,R} FLOAT channels with ZIP compression, as OpenCV writes
 * them).
 *
 * <p>Supported: compressions NONE, RLE, ZIPS and ZIP; HALF, FLOAT and UINT channels (all returned as float32, as
 * OpenCV's {@code imread(..., IMREAD_UNCHANGED)} does); the data window gives the image size. Tiled, deep and
 * multi-part files, sub-sampled channels and the lossy / wavelet codecs (PIZ, PXR24, B44, DWA) are refused with a
 * message naming the file and the feature.
 */
public final class OpenExr {
  private static final int MAGIC = 20000630;
  private static final String[] COMPRESSIONS = {"NONE", "RLE", "ZIPS", "ZIP", "PIZ", "PXR24", "B44", "B44A", "DWAA",
      "DWAB"};

  /** A decoded image: {@code width x height} samples per channel, row-major, in the file's (sorted) channel order. */
  public record Image(int width, int height, Map<String, float[]> channels) {
    /** One channel's samples; an {@link IllegalArgumentException} when the file has no such channel. */
    public float[] channel(String name) {
      float[] c = channels.get(name);
      if (c == null) throw new IllegalArgumentException("EXR has no channel " + name + "; has " + channels.keySet());
      return c;
    }
  }

  private record Channel(String name, int pixelType, int xSampling, int ySampling) {
    int bytes() {
      return pixelType == 1 ? 2 : 4;
    }
  }

  private OpenExr() {}

  /** Reads an EXR file; unsupported or malformed files raise {@link IllegalArgumentException} naming the file. */
  public static Image read(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": file not found");
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": " + e.getMessage(), e);
    }
    try {
      return decode(bytes, file.toString());
    } catch (IndexOutOfBoundsException | java.nio.BufferUnderflowException e) {
      throw new IllegalArgumentException(file + ": truncated or corrupt EXR file", e);
    }
  }

  static Image decode(byte[] bytes, String name) {
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (bytes.length < 8 || b.getInt() != MAGIC) throw new IllegalArgumentException(name + ": not an OpenEXR file");
    int version = b.getInt();
    if ((version & 0x200) != 0) throw new IllegalArgumentException(name + ": tiled EXR files are not supported");
    if ((version & 0x800) != 0) throw new IllegalArgumentException(name + ": deep EXR files are not supported");
    if ((version & 0x1000) != 0) throw new IllegalArgumentException(name + ": multi-part EXR files are not supported");

    List<Channel> channels = null;
    int compression = -1;
    int[] dataWindow = null;
    while (true) {
      String attr = cString(b);
      if (attr.isEmpty()) break;
      String type = cString(b);
      int size = b.getInt();
      if (size < 0 || size > b.remaining()) {
        throw new IllegalArgumentException(name + ": EXR attribute '" + attr + "' declares " + size + " bytes but "
            + b.remaining() + " remain (truncated or corrupt file)");
      }
      int end = b.position() + size;
      switch (attr) {
        case "channels" -> channels = channelList(b, name);
        case "compression" -> compression = b.get() & 0xff;
        case "dataWindow" -> dataWindow = new int[] {b.getInt(), b.getInt(), b.getInt(), b.getInt()};
        default -> { } // display window, line order, etc. do not change how the pixels decode
      }
      if (!type.isEmpty()) b.position(end);
    }
    if (channels == null || compression < 0 || dataWindow == null) {
      throw new IllegalArgumentException(name + ": EXR header lacks channels, compression or dataWindow");
    }
    // in longs: the window's corners are arbitrary ints
    long w = (long) dataWindow[2] - dataWindow[0] + 1;
    long h = (long) dataWindow[3] - dataWindow[1] + 1;
    int linesPerBlock = switch (compression) {
      case 0, 1, 2 -> 1;
      case 3 -> 16;
      default -> throw new IllegalArgumentException(name + ": EXR compression "
          + (compression < COMPRESSIONS.length ? COMPRESSIONS[compression] : String.valueOf(compression))
          + " is not supported (NONE, RLE, ZIPS, ZIP are)");
    };
    for (Channel c : channels) {
      if (c.xSampling != 1 || c.ySampling != 1) {
        throw new IllegalArgumentException(name + ": sub-sampled EXR channel " + c.name + " is not supported");
      }
    }
    long pixelBytes = 0;
    for (Channel c : channels) pixelBytes += c.bytes();
    checkSize(name, w, h, channels.size(), pixelBytes, compression, bytes.length);
    int width = (int) w;
    int height = (int) h;
    int lineBytes = Math.toIntExact(pixelBytes * width);

    Map<String, float[]> out = new LinkedHashMap<>();
    for (Channel c : channels) out.put(c.name, new float[width * height]);
    int blocks = (int) ((height + (long) linesPerBlock - 1) / linesPerBlock);
    if ((long) blocks * 8 > b.remaining()) {
      throw new IllegalArgumentException(name + ": EXR offset table of " + blocks + " blocks does not fit in the "
          + b.remaining() + " bytes left (truncated file)");
    }
    long[] offsets = new long[blocks];
    for (int i = 0; i < blocks; i++) offsets[i] = b.getLong();
    for (int i = 0; i < blocks; i++) {
      if (offsets[i] < 0 || offsets[i] > bytes.length - 8) {
        throw new IllegalArgumentException(name + ": EXR block " + i + " at offset " + offsets[i] + " lies outside "
            + "the file of " + bytes.length + " bytes (truncated or corrupt)");
      }
      b.position((int) offsets[i]);
      long yLong = (long) b.getInt() - dataWindow[1];
      int packed = b.getInt();
      if (yLong < 0 || yLong >= height) throw new IllegalArgumentException(name + ": EXR block at bad line " + yLong);
      int y = (int) yLong;
      int lines = Math.min(linesPerBlock, height - y);
      if (packed < 0 || packed > b.remaining()) {
        throw new IllegalArgumentException(name + ": EXR block " + i + " declares " + packed + " bytes but "
            + b.remaining() + " remain (truncated or corrupt)");
      }
      int raw = lines * lineBytes;
      byte[] chunk = new byte[packed];
      b.get(chunk);
      byte[] pixels = packed >= raw ? chunk : switch (compression) {
        case 1 -> reorder(predict(rle(chunk, raw, name)));
        case 2, 3 -> reorder(predict(inflate(chunk, raw, name)));
        default -> throw new IllegalArgumentException(name + ": compressed block in an uncompressed EXR");
      };
      ByteBuffer p = ByteBuffer.wrap(pixels).order(ByteOrder.LITTLE_ENDIAN);
      for (int line = 0; line < lines; line++) {
        for (Channel c : channels) {
          float[] dst = out.get(c.name);
          int row = (y + line) * width;
          for (int x = 0; x < width; x++) {
            dst[row + x] = switch (c.pixelType) {
              case 0 -> (float) Integer.toUnsignedLong(p.getInt());
              case 1 -> Float16.toFloat(p.getShort());
              default -> p.getFloat();
            };
          }
        }
      }
    }
    return new Image(width, height, Collections.unmodifiableMap(out));
  }

  /**
   * Refuses a data window whose samples the file cannot hold, before anything is allocated for it: the pixel data,
   * once decompressed, is at most the file's size times the codec's largest expansion (NONE 1, RLE 64: two bytes
   * give 128, ZIP / ZIPS deflate's 1032).
   */
  private static void checkSize(String name, long w, long h, int channels, long pixelBytes, int compression,
      long fileBytes) {
    if (w < 1 || h < 1) {
      throw new IllegalArgumentException(name + ": EXR dataWindow of " + w + " x " + h + " pixels is empty");
    }
    long expansion = switch (compression) {
      case 0 -> 1;
      case 1 -> 64;
      default -> 1032;
    };
    // one float per channel and pixel must also fit a Java array
    boolean tooLarge = w > Integer.MAX_VALUE || h > Integer.MAX_VALUE || w * h > Integer.MAX_VALUE - 8
        || (channels > 0 && w * h > expansion * fileBytes / pixelBytes);
    if (tooLarge) {
      throw new IllegalArgumentException(name + ": EXR dataWindow of " + w + " x " + h + " pixels x " + channels
          + " channels is more than the file's " + fileBytes + " bytes can hold (truncated or corrupt)");
    }
  }

  private static List<Channel> channelList(ByteBuffer b, String name) {
    List<Channel> list = new ArrayList<>();
    while (true) {
      String channel = cString(b);
      if (channel.isEmpty()) return list;
      int pixelType = b.getInt();
      b.getInt(); // pLinear (1 byte) + 3 reserved bytes: irrelevant for decoding
      int xs = b.getInt();
      int ys = b.getInt();
      if (pixelType < 0 || pixelType > 2) {
        throw new IllegalArgumentException(name + ": EXR channel " + channel + " has unknown pixel type " + pixelType);
      }
      list.add(new Channel(channel, pixelType, xs, ys));
    }
  }

  private static String cString(ByteBuffer b) {
    int start = b.position();
    while (b.get() != 0) { }
    return new String(b.array(), start, b.position() - start - 1, StandardCharsets.ISO_8859_1);
  }

  private static byte[] inflate(byte[] in, int raw, String name) {
    Inflater inflater = new Inflater();
    try {
      inflater.setInput(in);
      byte[] out = new byte[raw];
      int n = 0;
      while (n < raw && !inflater.finished()) {
        int k = inflater.inflate(out, n, raw - n);
        if (k == 0 && (inflater.needsInput() || inflater.needsDictionary())) break;
        n += k;
      }
      if (n != raw) throw new IllegalArgumentException(name + ": EXR ZIP block inflates to " + n + " bytes, not " + raw);
      return out;
    } catch (DataFormatException e) {
      throw new IllegalArgumentException(name + ": corrupt EXR ZIP block: " + e.getMessage());
    } finally {
      inflater.end();
    }
  }

  /** OpenEXR's byte-wise run-length code: a negative count -n is n literal bytes, n >= 0 repeats the next byte n+1 times. */
  private static byte[] rle(byte[] in, int raw, String name) {
    byte[] out = new byte[raw];
    int i = 0;
    int o = 0;
    while (i < in.length) {
      int count = in[i++];
      if (count < 0) {
        System.arraycopy(in, i, out, o, -count);
        i += -count;
        o += -count;
      } else {
        java.util.Arrays.fill(out, o, o + count + 1, in[i++]);
        o += count + 1;
      }
    }
    if (o != raw) throw new IllegalArgumentException(name + ": EXR RLE block decodes to " + o + " bytes, not " + raw);
    return out;
  }

  /** Undoes the delta predictor: each byte was stored as the difference to its predecessor, offset by 128. */
  private static byte[] predict(byte[] t) {
    for (int i = 1; i < t.length; i++) t[i] = (byte) (t[i - 1] + t[i] - 128);
    return t;
  }

  /** Undoes the split into even and odd bytes: the first half holds bytes 0, 2, 4, ..., the second 1, 3, 5, .... */
  private static byte[] reorder(byte[] t) {
    byte[] out = new byte[t.length];
    int half = (t.length + 1) / 2;
    for (int i = 0; i < t.length; i++) out[i] = (i & 1) == 0 ? t[i / 2] : t[half + i / 2];
    return out;
  }
}
