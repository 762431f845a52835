package marigold4j.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * numpy's {@code .npy} format, version 1.0 as {@code np.save} writes it (byte-identical header: sorted dict keys,
 * the spare space numpy leaves for growing the first axis, padding to 64 bytes), C order, little-endian. Reading
 * also accepts versions 2.0 and 3.0 headers, and {@code .npz} archives ({@code np.savez}, stored or deflated).
 */
public final class Npy {
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final int ALIGN = 64;
  /** numpy reserves room in the header for the growth axis to reach this many digits. */
  private static final int GROWTH_AXIS_MAX_DIGITS = 21;
  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
  private static final String SUPPORTED =
      Arrays.stream(DType.values()).map(DType::descr).collect(Collectors.joining(" "));

  private Npy() {}

  /** The element types supported, with numpy's {@code descr} and the matching torch type. */
  public enum DType {
    F4("<f4", 4, torch.ScalarType.Float),
    F8("<f8", 8, torch.ScalarType.Double),
    I8("<i8", 8, torch.ScalarType.Long),
    U1("|u1", 1, torch.ScalarType.Byte),
    B1("|b1", 1, torch.ScalarType.Bool),
    F2("<f2", 2, torch.ScalarType.Half),
    I1("|i1", 1, torch.ScalarType.Char),
    I2("<i2", 2, torch.ScalarType.Short),
    U2("<u2", 2, torch.ScalarType.UInt16),
    I4("<i4", 4, torch.ScalarType.Int),
    U4("<u4", 4, torch.ScalarType.UInt32),
    U8("<u8", 8, torch.ScalarType.UInt64);

    private final String descr;
    private final int bytes;
    private final torch.ScalarType torchType;

    DType(String descr, int bytes, torch.ScalarType torchType) {
      this.descr = descr;
      this.bytes = bytes;
      this.torchType = torchType;
    }

    public String descr() {
      return descr;
    }

    public int bytes() {
      return bytes;
    }

    public torch.ScalarType torchType() {
      return torchType;
    }

    static DType fromDescr(String d) {
      for (DType t : values()) if (t.descr.equals(d)) return t;
      return null;
    }

    static DType fromTorch(torch.ScalarType t) {
      for (DType d : values()) if (d.torchType == t) return d;
      return null;
    }
  }

  /** An array as stored: element type, shape, and the raw little-endian C-order bytes. */
  public record Array(DType dtype, long[] shape, byte[] data) {
    public Array {
      long n = numel(shape);
      if (n * dtype.bytes() != data.length) {
        throw new IllegalArgumentException(dtype.descr() + " " + Arrays.toString(shape) + " needs " + n * dtype.bytes()
            + " bytes, got " + data.length);
      }
    }

    /** The values as little-endian buffer (position 0). */
    public ByteBuffer buffer() {
      return ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A float32 array from Java floats. */
    public static Array ofFloats(float[] values, long... shape) {
      ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      b.asFloatBuffer().put(values);
      return new Array(DType.F4, shape.clone(), b.array());
    }

    /** Number of elements. */
    public int size() {
      return Math.toIntExact(numel(shape));
    }

    /** The shape without its size-1 dimensions, as {@code ndarray.squeeze()}. */
    public long[] squeezedShape() {
      return Arrays.stream(shape).filter(d -> d != 1).toArray();
    }

    /** The values as float32 in C order, rounded as numpy's {@code astype(np.float32)} does for any dtype. */
    public float[] toFloats() {
      int n = size();
      float[] out = new float[n];
      ByteBuffer b = buffer();
      switch (dtype) {
        case F4 -> b.asFloatBuffer().get(out);
        case F8 -> {
          for (int i = 0; i < n; i++) out[i] = (float) b.getDouble(i * 8);
        }
        case F2 -> {
          for (int i = 0; i < n; i++) out[i] = Float16.toFloat(b.getShort(i * 2));
        }
        case B1, U1 -> {
          for (int i = 0; i < n; i++) out[i] = data[i] & 0xff;
        }
        case I1 -> {
          for (int i = 0; i < n; i++) out[i] = data[i];
        }
        case U2 -> {
          for (int i = 0; i < n; i++) out[i] = b.getShort(i * 2) & 0xffff;
        }
        case I2 -> {
          for (int i = 0; i < n; i++) out[i] = b.getShort(i * 2);
        }
        case I4 -> {
          for (int i = 0; i < n; i++) out[i] = b.getInt(i * 4);
        }
        case U4 -> {
          for (int i = 0; i < n; i++) out[i] = b.getInt(i * 4) & 0xffffffffL;
        }
        case I8 -> {
          for (int i = 0; i < n; i++) out[i] = b.getLong(i * 8);
        }
        case U8 -> {
          for (int i = 0; i < n; i++) out[i] = unsignedToFloat(b.getLong(i * 8));
        }
      }
      return out;
    }

    /** {@code array != 0} in C order (numpy's {@code astype(bool)}: NaN is true). */
    public boolean[] toBooleans() {
      int n = size();
      boolean[] out = new boolean[n];
      ByteBuffer b = buffer();
      if (dtype.bytes() == 1) {
        for (int i = 0; i < n; i++) out[i] = data[i] != 0;
        return out;
      }
      if (dtype == DType.F8) {
        // compared as doubles: a float64 too small for float32 is still true in numpy
        for (int i = 0; i < n; i++) out[i] = b.getDouble(i * 8) != 0;
        return out;
      }
      float[] f = toFloats(); // exact for every other dtype's zero test; NaN stays true (NaN != 0)
      for (int i = 0; i < n; i++) out[i] = f[i] != 0f;
      return out;
    }
  }

  /** An unsigned 64-bit value rounded to the nearest float32, as numpy converts {@code uint64}. */
  private static float unsignedToFloat(long v) {
    if (v >= 0) return v;
    // halve with the lost bit kept sticky so that the final rounding is still to nearest
    return 2f * ((v >>> 1) | (v & 1));
  }

  /** The exact header numpy 1.23+ writes for this dtype and shape (version 1.0, C order). */
  public static byte[] header(DType dtype, long[] shape) {
    StringBuilder dict = new StringBuilder();
    dict.append("{'descr': '").append(dtype.descr()).append("', 'fortran_order': False, 'shape': ")
        .append(shapeRepr(shape)).append(", }");
    if (shape.length > 0) {
      // numpy's spare room so that the first axis can grow in place
      dict.append(" ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - Long.toString(shape[0]).length())));
    }
    int hlen = dict.length() + 1; // + the final newline
    int pad = ALIGN - ((MAGIC.length + 2 + 2 + hlen) % ALIGN);
    dict.append(" ".repeat(pad)).append('\n');
    byte[] text = dict.toString().getBytes(StandardCharsets.US_ASCII);
    if (text.length > 0xffff) throw new IllegalArgumentException("npy header too long for version 1.0");
    ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 2 + 2 + text.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) text.length).put(text);
    return b.array();
  }

  /** Python's repr of a shape tuple: {@code ()}, {@code (5,)}, {@code (3, 4)}. */
  private static String shapeRepr(long[] shape) {
    if (shape.length == 1) return "(" + shape[0] + ",)";
    StringBuilder s = new StringBuilder("(");
    for (int i = 0; i < shape.length; i++) s.append(i == 0 ? "" : ", ").append(shape[i]);
    return s.append(')').toString();
  }

  /** Writes an array atomically (temporary file in the same folder, then rename). */
  public static void write(Path file, Array array) {
    AtomicFiles.write(file, out -> write(out, array));
  }

  /** Writes an array as a whole {@code .npy} file to a stream, byte for byte as {@code np.save} does. */
  public static void write(OutputStream out, Array array) throws IOException {
    out.write(header(array.dtype(), array.shape()));
    out.write(array.data());
  }

  /** The complete {@code .npy} file content of an array, as {@link #write(Path, Array)} stores it. */
  public static byte[] toBytes(Array array) {
    byte[] head = header(array.dtype(), array.shape());
    byte[] out = Arrays.copyOf(head, head.length + array.data().length);
    System.arraycopy(array.data(), 0, out, head.length, array.data().length);
    return out;
  }

  /** Writes a tensor (any device; float32, float64, int64, uint8, bool or float16) atomically, C order. */
  public static void write(Path file, Tensor t) {
    write(file, toArray(t));
  }

  /** The tensor's dtype, shape and bytes (copied to the CPU, made contiguous). */
  public static Array toArray(Tensor t) {
    torch.ScalarType st = Tensors.dtype(t);
    DType dtype = DType.fromTorch(st);
    if (dtype == null) throw new IllegalArgumentException("cannot write a " + st + " tensor as .npy");
    Tensor c = t.detach().cpu().contiguous();
    byte[] data = new byte[Math.toIntExact(c.numel() * dtype.bytes())];
    if (data.length > 0) new BytePointer(c.data_ptr()).capacity(data.length).get(data);
    return new Array(dtype, Tensors.shape(c), data);
  }

  /**
   * Reads a {@code .npy} file.
   *
   * @throws IllegalArgumentException naming the file if it is not a supported, C-ordered, complete npy file
   */
  public static Array read(Path file) {
    return parse(readAllBytes(file), file.toString());
  }

  /**
   * Reads every array of a {@code .npz} archive, keyed by member name without its {@code .npy} suffix, in archive
   * order.
   *
   * @throws IllegalArgumentException naming the file and member if it is missing or a member is not a supported npy
   */
  public static Map<String, Array> readNpz(Path file) {
    Map<String, Array> out = new LinkedHashMap<>();
    try (InputStream in = Files.newInputStream(file); ZipInputStream zip = new ZipInputStream(in)) {
      for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
        String name = e.getName().endsWith(".npy") ? e.getName().substring(0, e.getName().length() - 4) : e.getName();
        out.put(name, parse(zip.readAllBytes(), file + ":" + e.getName()));
      }
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": file not found");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    return out;
  }

  private static byte[] readAllBytes(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": file not found");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Parses a whole {@code .npy} file held in memory.
   *
   * @param origin names the bytes in error messages (a path, or {@code archive:member})
   * @throws IllegalArgumentException naming {@code origin} if it is not a supported, C-ordered, complete npy file
   */
  public static Array parse(byte[] all, String origin) {
    ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
    if (all.length < 10 || !Arrays.equals(Arrays.copyOf(all, 6), MAGIC)) {
      throw new IllegalArgumentException(origin + ": not a .npy file (bad magic)");
    }
    int major = all[6];
    long hlen;
    int start;
    if (major == 1) {
      hlen = Short.toUnsignedInt(b.getShort(8));
      start = 10;
    } else if (major == 2 || major == 3) {
      if (all.length < 12) throw new IllegalArgumentException(origin + ": truncated .npy header");
      hlen = Integer.toUnsignedLong(b.getInt(8));
      start = 12;
    } else {
      throw new IllegalArgumentException(origin + ": unsupported .npy version " + major + "." + all[7]);
    }
    if (start + hlen > all.length) throw new IllegalArgumentException(origin + ": truncated .npy header");
    String dict = new String(all, start, (int) hlen,
        major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    Matcher d = DESCR.matcher(dict);
    Matcher f = FORTRAN.matcher(dict);
    Matcher s = SHAPE.matcher(dict);
    if (!d.find() || !f.find() || !s.find()) {
      throw new IllegalArgumentException(origin + ": malformed .npy header " + dict.trim());
    }
    DType dtype = DType.fromDescr(d.group(1));
    if (dtype == null) {
      throw new IllegalArgumentException(origin + ": unsupported dtype '" + d.group(1) + "' (supported: " + SUPPORTED
          + ", little-endian)");
    }
    long[] shape = parseShape(origin, s.group(1));
    long dataStart = start + hlen;
    long n;
    long bytes;
    try {
      n = numel(shape);
      bytes = Math.multiplyExact(n, (long) dtype.bytes());
    } catch (ArithmeticException overflow) {
      // a declared shape whose size overflows a long is not data this file holds
      throw new IllegalArgumentException(origin + ": truncated .npy data: " + dtype.descr() + " "
          + Arrays.toString(shape) + " is larger than any file; the file has " + (all.length - dataStart) + " bytes");
    }
    if (f.group(1).equals("True") && shape.length > 1 && n > 1) {
      throw new IllegalArgumentException(origin + ": Fortran-ordered arrays are not supported; save with "
          + "np.ascontiguousarray(...) first");
    }
    // compared without adding, so a huge declared size cannot wrap around and pass
    if (bytes > all.length - dataStart) {
      throw new IllegalArgumentException(origin + ": truncated .npy data: " + dtype.descr() + " "
          + Arrays.toString(shape) + " needs " + bytes + " bytes, file has " + (all.length - dataStart));
    }
    return new Array(dtype, shape, Arrays.copyOfRange(all, (int) dataStart, (int) (dataStart + bytes)));
  }

  /** Reads a {@code .npy} file into a CPU tensor of the stored dtype and shape. */
  public static Tensor readTensor(Path file) {
    return toTensor(read(file));
  }

  /** A CPU tensor holding a copy of the array. */
  public static Tensor toTensor(Array a) {
    return Tensors.fromRawBytes(a.data(), a.dtype().torchType(), a.shape());
  }

  private static long[] parseShape(String origin, String inner) {
    String[] parts = inner.split(",");
    long[] shape = new long[parts.length];
    int n = 0;
    for (String p : parts) {
      String v = p.trim().replaceAll("L$", "");
      if (v.isEmpty()) continue;
      try {
        shape[n++] = Long.parseLong(v);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(origin + ": bad shape (" + inner + ")");
      }
      if (shape[n - 1] < 0) throw new IllegalArgumentException(origin + ": bad shape (" + inner + ")");
    }
    return Arrays.copyOf(shape, n);
  }

  private static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) n = Math.multiplyExact(n, d);
    return n;
  }
}
