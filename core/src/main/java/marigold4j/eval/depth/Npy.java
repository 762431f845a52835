package marigold4j.eval.depth;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Minimal NumPy {@code .npy} / {@code .npz} reader and float32 {@code .npy} writer: what the depth evaluation needs
 * (predictions, DIODE depth and masks). C order only; little-endian or byte-order-free dtypes only.
 *
 * <p>Package-private stop-gap until the shared {@code marigold4j.image.Npy} lands.
 */
final class Npy {
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

  /** One array: dtype string as numpy writes it ({@code <f4}, {@code |b1}, ...), shape, raw little-endian data. */
  record Array(String dtype, long[] shape, ByteBuffer data) {
    long size() {
      long n = 1;
      for (long d : shape) n *= d;
      return n;
    }

    /** The shape without its size-1 dimensions, as {@code ndarray.squeeze()}. */
    long[] squeezedShape() {
      return Arrays.stream(shape).filter(d -> d != 1).toArray();
    }

    /** The values converted to float32, in C order. */
    float[] toFloats() {
      int n = Math.toIntExact(size());
      float[] out = new float[n];
      ByteBuffer b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
      switch (kind()) {
        case "f4" -> b.asFloatBuffer().get(out);
        case "f8" -> {
          for (int i = 0; i < n; i++) out[i] = (float) b.getDouble(i * 8);
        }
        case "f2" -> {
          for (int i = 0; i < n; i++) out[i] = halfToFloat(b.getShort(i * 2));
        }
        case "b1", "u1" -> {
          for (int i = 0; i < n; i++) out[i] = b.get(i) & 0xff;
        }
        case "i1" -> {
          for (int i = 0; i < n; i++) out[i] = b.get(i);
        }
        case "u2" -> {
          for (int i = 0; i < n; i++) out[i] = b.getShort(i * 2) & 0xffff;
        }
        case "i2" -> {
          for (int i = 0; i < n; i++) out[i] = b.getShort(i * 2);
        }
        case "i4" -> {
          for (int i = 0; i < n; i++) out[i] = b.getInt(i * 4);
        }
        case "i8" -> {
          for (int i = 0; i < n; i++) out[i] = b.getLong(i * 8);
        }
        default -> throw new IllegalArgumentException("unsupported .npy dtype " + dtype);
      }
      return out;
    }

    /** {@code array != 0} (numpy's {@code astype(bool)}), in C order. */
    boolean[] toBooleans() {
      int n = Math.toIntExact(size());
      boolean[] out = new boolean[n];
      if (kind().equals("b1") || kind().equals("u1")) {
        for (int i = 0; i < n; i++) out[i] = data.get(data.position() + i) != 0;
        return out;
      }
      float[] f = toFloats();
      // NaN is truthy in numpy, and NaN != 0 is true in Java too
      for (int i = 0; i < n; i++) out[i] = f[i] != 0f;
      return out;
    }

    String kind() {
      return dtype.substring(1);
    }
  }

  private Npy() {}

  /** IEEE binary16 to float32 (exact; Java 17 has no {@code Float.float16ToFloat}). */
  static float halfToFloat(short h) {
    int bits = h & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >> 10) & 0x1f;
    int mant = bits & 0x3ff;
    if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    if (exp == 0) {
      float v = mant * 0x1p-24f; // subnormal (or zero): exact in float32
      return sign == 0 ? v : -v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  static Array read(Path file) throws IOException {
    return parse(Files.readAllBytes(file), file.toString());
  }

  /** Parses a whole {@code .npy} file held in memory; {@code origin} names it in error messages. */
  static Array parse(byte[] bytes, String origin) {
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (bytes.length < 10 || !Arrays.equals(Arrays.copyOf(bytes, 6), MAGIC)) {
      throw new IllegalArgumentException(origin + ": not a .npy file (bad magic)");
    }
    int major = bytes[6];
    int headerLen;
    int start;
    if (major == 1) {
      headerLen = b.getShort(8) & 0xffff;
      start = 10;
    } else {
      headerLen = b.getInt(8);
      start = 12;
    }
    String header = new String(bytes, start, headerLen,
        major >= 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    Matcher d = DESCR.matcher(header);
    Matcher f = FORTRAN.matcher(header);
    Matcher s = SHAPE.matcher(header);
    if (!d.find() || !f.find() || !s.find()) {
      throw new IllegalArgumentException(origin + ": unreadable .npy header " + header.trim());
    }
    String dtype = d.group(1);
    if (f.group(1).equals("True")) {
      throw new IllegalArgumentException(origin + ": Fortran-ordered .npy arrays are not supported");
    }
    if (dtype.startsWith(">")) {
      throw new IllegalArgumentException(origin + ": big-endian .npy dtype " + dtype + " is not supported");
    }
    long[] shape = Arrays.stream(s.group(1).split(","))
        .map(String::trim).filter(x -> !x.isEmpty()).mapToLong(Long::parseLong).toArray();
    Array a = new Array(dtype, shape, ByteBuffer.wrap(bytes, start + headerLen, bytes.length - start - headerLen)
        .slice().order(ByteOrder.LITTLE_ENDIAN));
    int itemSize = Integer.parseInt(dtype.substring(2));
    if ((long) a.data.remaining() < a.size() * itemSize) {
      throw new IllegalArgumentException(origin + ": truncated .npy data (" + a.data.remaining() + " bytes for shape "
          + Arrays.toString(shape) + " of " + dtype + ")");
    }
    return a;
  }

  /** All arrays of an {@code .npz} file, keyed by name without the {@code .npy} suffix. */
  static Map<String, Array> readNpz(Path file) throws IOException {
    Map<String, Array> out = new LinkedHashMap<>();
    try (InputStream in = Files.newInputStream(file); ZipInputStream zip = new ZipInputStream(in)) {
      for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
        String name = e.getName().endsWith(".npy") ? e.getName().substring(0, e.getName().length() - 4) : e.getName();
        out.put(name, parse(zip.readAllBytes(), file + ":" + e.getName()));
      }
    }
    return out;
  }

  /** Writes a float32 C-order array byte for byte as {@code np.save} does (format 1.0, 64-byte aligned header). */
  static void writeFloat32(OutputStream out, float[] data, long... shape) throws IOException {
    StringBuilder dims = new StringBuilder();
    for (int i = 0; i < shape.length; i++) dims.append(shape[i]).append(i == 0 && shape.length == 1 ? "," : "")
        .append(i < shape.length - 1 ? ", " : "");
    String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
    // numpy leaves room for the first axis to grow to 21 digits, then aligns the data to 64 bytes
    if (shape.length > 0) dict += " ".repeat(Math.max(0, 21 - Long.toString(shape[0]).length()));
    int total = 10 + dict.length() + 1;
    int pad = 64 - total % 64; // numpy pads a full 64 when already aligned
    String header = dict + " ".repeat(pad) + "\n";
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    head.write(MAGIC);
    head.write(1);
    head.write(0);
    int len = header.length();
    head.write(len & 0xff);
    head.write((len >> 8) & 0xff);
    head.write(header.getBytes(StandardCharsets.ISO_8859_1));
    out.write(head.toByteArray());
    ByteBuffer body = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    body.asFloatBuffer().put(data);
    out.write(body.array());
  }
}
