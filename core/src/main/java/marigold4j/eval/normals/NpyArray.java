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
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One array of a NumPy {@code .npy} file (format versions 1-3, C order): its shape, its dtype descriptor and its raw
 * little- or big-endian payload. Only what the evaluation reads is decoded: float32 / float64 values, uint8 and bool.
 */
public record NpyArray(long[] shape, String descr, ByteBuffer data) {
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

  /** Reads a {@code .npy} file; a missing or malformed file is an {@link IllegalArgumentException} naming it. */
  public static NpyArray read(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": file not found");
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": " + e.getMessage(), e);
    }
    return parse(bytes, file.toString());
  }

  /** Parses the bytes of a {@code .npy} file; {@code name} is used in error messages. */
  public static NpyArray parse(byte[] bytes, String name) {
    if (bytes.length < 10 || !Arrays.equals(Arrays.copyOf(bytes, 6), MAGIC)) {
      throw new IllegalArgumentException(name + ": not a .npy file (bad magic)");
    }
    int major = bytes[6] & 0xff;
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int headerLen;
    int offset;
    if (major == 1) {
      headerLen = b.getShort(8) & 0xffff;
      offset = 10;
    } else if (major == 2 || major == 3) {
      headerLen = b.getInt(8);
      offset = 12;
    } else {
      throw new IllegalArgumentException(name + ": unsupported .npy format version " + major);
    }
    if (offset + headerLen > bytes.length) throw new IllegalArgumentException(name + ": truncated .npy header");
    String header = new String(bytes, offset, headerLen,
        major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    Matcher d = DESCR.matcher(header);
    Matcher f = FORTRAN.matcher(header);
    Matcher s = SHAPE.matcher(header);
    if (!d.find() || !f.find() || !s.find()) {
      throw new IllegalArgumentException(name + ": malformed .npy header " + header.strip());
    }
    if (f.group(1).equals("True")) {
      throw new IllegalArgumentException(name + ": Fortran-ordered arrays are not supported");
    }
    List<Long> dims = new ArrayList<>();
    for (String part : s.group(1).split(",")) {
      if (!part.isBlank()) dims.add(Long.parseLong(part.strip()));
    }
    long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
    String descr = d.group(1);
    long count = Arrays.stream(shape).reduce(1, Math::multiplyExact);
    long need = count * itemSize(descr, name);
    int start = offset + headerLen;
    if (bytes.length - start < need) {
      throw new IllegalArgumentException(name + ": payload has " + (bytes.length - start) + " bytes, shape "
          + Arrays.toString(shape) + " of " + descr + " needs " + need);
    }
    ByteBuffer data = ByteBuffer.wrap(bytes, start, (int) need).slice()
        .order(descr.startsWith(">") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
    return new NpyArray(shape, descr, data);
  }

  private static int itemSize(String descr, String name) {
    return switch (descr.substring(1)) {
      case "f4", "i4", "u4" -> 4;
      case "f8", "i8", "u8" -> 8;
      case "f2", "i2", "u2" -> 2;
      case "u1", "i1", "b1" -> 1;
      default -> throw new IllegalArgumentException(name + ": unsupported dtype " + descr);
    };
  }

  /** Number of elements. */
  public int size() {
    return Math.toIntExact(Arrays.stream(shape).reduce(1, Math::multiplyExact));
  }

  /** The values as float32 (float64 values are rounded as numpy's {@code astype(float32)} does). */
  public float[] floats() {
    float[] out = new float[size()];
    switch (descr.substring(1)) {
      case "f4" -> data.duplicate().order(data.order()).asFloatBuffer().get(out);
      case "f8" -> {
        double[] d = new double[out.length];
        data.duplicate().order(data.order()).asDoubleBuffer().get(d);
        for (int i = 0; i < d.length; i++) out[i] = (float) d[i];
      }
      case "u1" -> {
        for (int i = 0; i < out.length; i++) out[i] = data.get(i) & 0xff;
      }
      default -> throw new IllegalArgumentException("cannot read dtype " + descr + " as float");
    }
    return out;
  }

  /** The values of a {@code bool} or {@code uint8} array as booleans (non-zero is true). */
  public boolean[] booleans() {
    if (!descr.endsWith("b1") && !descr.endsWith("u1")) {
      throw new IllegalArgumentException("cannot read dtype " + descr + " as bool");
    }
    boolean[] out = new boolean[size()];
    for (int i = 0; i < out.length; i++) out[i] = data.get(i) != 0;
    return out;
  }

  /** The bytes of a {@code uint8} array. */
  public byte[] bytes() {
    if (!descr.endsWith("u1")) throw new IllegalArgumentException("cannot read dtype " + descr + " as uint8");
    byte[] out = new byte[size()];
    data.duplicate().get(out);
    return out;
  }
}
