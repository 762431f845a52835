package marigold4j.eval.normals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads an OASIS {@code *_normal.pkl}: a pickled dict {@code {min_y, max_y, min_x, max_x: int, normal: ndarray}}
 * with the normals of the region of interest, shape {@code (max_y-min_y+1, max_x-min_x+1, 3)}.
 *
 * <p>Nothing is executed: only the handful of opcodes such a file uses are understood, and the only globals
 * accepted are numpy's array / dtype / scalar reconstructors and {@code _codecs.encode} (how protocol 2 stores
 * bytes); they are interpreted by name. Anything else is refused with the file and the offending name.
 */
final class OasisNormalPickle {
  private static final Set<String> ALLOWED = Set.of(
      "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
      "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
      "numpy.ndarray", "numpy.dtype", "_codecs.encode");

  /** The region of interest: inclusive pixel bounds and the {@code (rows, cols, 3)} normals as double values. */
  record Roi(int minY, int maxY, int minX, int maxX, int rows, int cols, double[] normal) {}

  private record Global(String name) {}

  private record Tuple(List<Object> items) {}

  private static final class DType {
    final String kind;
    char order = '<';

    DType(String kind) {
      this.kind = kind;
    }
  }

  private static final class NdArray {
    long[] shape;
    DType dtype;
    byte[] raw;
  }

  private static final Object MARK = new Object();
  private static final Object NONE = new Object();

  private final String name;
  private final byte[] data;
  private int pos;

  private OasisNormalPickle(String name, byte[] data) {
    this.name = name;
    this.data = data;
  }

  static Roi read(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": file not found");
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": " + e.getMessage(), e);
    }
    try {
      return new OasisNormalPickle(file.toString(), bytes).roi();
    } catch (IndexOutOfBoundsException | ClassCastException | java.util.NoSuchElementException
        | java.nio.BufferUnderflowException e) {
      throw new IllegalArgumentException(file + ": not an OASIS normal pickle (" + e + ")");
    }
  }

  private Roi roi() {
    Object root = load();
    if (!(root instanceof Map<?, ?> dict)) throw fail("the pickle's root is not a dict");
    int minY = intOf(dict.get("min_y"), "min_y");
    int maxY = intOf(dict.get("max_y"), "max_y");
    int minX = intOf(dict.get("min_x"), "min_x");
    int maxX = intOf(dict.get("max_x"), "max_x");
    if (!(dict.get("normal") instanceof NdArray a)) throw fail("'normal' is not a numpy array");
    if (a.shape == null || a.dtype == null || a.raw == null) throw fail("'normal' is a numpy array without data");
    long rowsLong = (long) maxY - minY + 1;
    long colsLong = (long) maxX - minX + 1;
    if (rowsLong < 1 || colsLong < 1 || rowsLong * colsLong * 3 > Integer.MAX_VALUE - 8) {
      throw fail("ROI bounds y " + minY + ".." + maxY + ", x " + minX + ".." + maxX + " are empty or too large");
    }
    int rows = (int) rowsLong;
    int cols = (int) colsLong;
    if (a.shape.length != 3 || a.shape[0] != rows || a.shape[1] != cols || a.shape[2] != 3) {
      throw fail("'normal' has shape " + java.util.Arrays.toString(a.shape) + ", expected [" + rows + ", " + cols
          + ", 3] from the ROI bounds");
    }
    ByteBuffer b = ByteBuffer.wrap(a.raw).order(a.dtype.order == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
    int itemBytes = switch (a.dtype.kind) {
      case "f4" -> 4;
      case "f8" -> 8;
      default -> throw fail("'normal' has unsupported dtype " + a.dtype.kind);
    };
    // the array is allocated from the ROI bounds: they must describe the bytes the pickle holds
    if (a.raw.length != (long) rows * cols * 3 * itemBytes) {
      throw fail("'normal' holds " + a.raw.length + " bytes, but " + rows + " x " + cols + " x 3 " + a.dtype.kind
          + " needs " + (long) rows * cols * 3 * itemBytes);
    }
    double[] normal = new double[rows * cols * 3];
    for (int i = 0; i < normal.length; i++) {
      normal[i] = switch (a.dtype.kind) {
        case "f4" -> b.getFloat();
        case "f8" -> b.getDouble();
        default -> throw fail("'normal' has unsupported dtype " + a.dtype.kind);
      };
    }
    return new Roi(minY, maxY, minX, maxX, rows, cols, normal);
  }

  private int intOf(Object v, String key) {
    if (v instanceof Long l && l == (int) (long) l) return (int) (long) l;
    throw fail("'" + key + "' is missing or not an integer");
  }

  private IllegalArgumentException fail(String why) {
    return new IllegalArgumentException(name + ": " + why);
  }

  private Object load() {
    Deque<Object> stack = new ArrayDeque<>();
    Map<Long, Object> memo = new HashMap<>();
    while (true) {
      int op = u8();
      switch (op) {
        case 0x80 -> u8(); // PROTO
        case 0x95 -> pos += 8; // FRAME
        case '}' -> stack.push(new LinkedHashMap<Object, Object>()); // EMPTY_DICT
        case ')' -> stack.push(new Tuple(List.of())); // EMPTY_TUPLE
        case '(' -> stack.push(MARK);
        case 'q' -> memo.put((long) u8(), stack.peek()); // BINPUT
        case 'r' -> memo.put(u32(), stack.peek()); // LONG_BINPUT
        case 0x94 -> memo.put((long) memo.size(), stack.peek()); // MEMOIZE
        case 'h' -> stack.push(memoized(memo, u8())); // BINGET
        case 'j' -> stack.push(memoized(memo, u32())); // LONG_BINGET
        case 'K' -> stack.push((long) u8()); // BININT1
        case 'M' -> stack.push((long) (u8() | (u8() << 8))); // BININT2
        case 'J' -> stack.push((long) (int) u32()); // BININT
        case 0x8a -> stack.push(long1()); // LONG1
        case 'N' -> stack.push(NONE);
        case 0x88 -> stack.push(Boolean.TRUE); // NEWTRUE
        case 0x89 -> stack.push(Boolean.FALSE); // NEWFALSE
        case 'X' -> stack.push(new String(bytes((int) u32()), StandardCharsets.UTF_8)); // BINUNICODE
        case 0x8c -> stack.push(new String(bytes(u8()), StandardCharsets.UTF_8)); // SHORT_BINUNICODE
        case 'B' -> stack.push(bytes((int) u32())); // BINBYTES
        case 'C' -> stack.push(bytes(u8())); // SHORT_BINBYTES
        case 'T' -> stack.push(new String(bytes((int) u32()), StandardCharsets.ISO_8859_1)); // BINSTRING
        case 'U' -> stack.push(new String(bytes(u8()), StandardCharsets.ISO_8859_1)); // SHORT_BINSTRING
        case 'c' -> { // GLOBAL "module\nname\n"
          String g = line() + "." + line();
          if (!ALLOWED.contains(g)) throw fail("refusing pickle global " + g);
          stack.push(new Global(g));
        }
        case 0x85 -> stack.push(new Tuple(List.of(stack.pop()))); // TUPLE1
        case 0x86 -> { // TUPLE2
          Object b = stack.pop();
          stack.push(new Tuple(List.of(stack.pop(), b)));
        }
        case 0x87 -> { // TUPLE3
          Object c = stack.pop();
          Object b = stack.pop();
          stack.push(new Tuple(List.of(stack.pop(), b, c)));
        }
        case 't' -> stack.push(new Tuple(popToMark(stack))); // TUPLE
        case 'R' -> { // REDUCE
          Tuple args = (Tuple) stack.pop();
          stack.push(call((Global) stack.pop(), args.items()));
        }
        case 'b' -> { // BUILD
          Object state = stack.pop();
          build(stack.peek(), (Tuple) state);
        }
        case 's' -> { // SETITEM
          Object v = stack.pop();
          Object k = stack.pop();
          dict(stack.peek()).put(k, v);
        }
        case 'u' -> { // SETITEMS
          List<Object> kv = popToMark(stack);
          Map<Object, Object> d = dict(stack.peek());
          for (int i = 0; i + 1 < kv.size(); i += 2) d.put(kv.get(i), kv.get(i + 1));
        }
        case '.' -> {
          return stack.pop();
        }
        default -> throw fail(String.format("unsupported pickle opcode 0x%02x at offset %d", op, pos - 1));
      }
    }
  }

  private Object memoized(Map<Long, Object> memo, long key) {
    Object o = memo.get(key);
    if (o == null) throw fail("pickle memo entry " + key + " is read before it is written");
    return o;
  }

  @SuppressWarnings("unchecked")
  private Map<Object, Object> dict(Object o) {
    if (o instanceof Map<?, ?> m) return (Map<Object, Object>) m;
    throw fail("SETITEM on a non-dict");
  }

  private Object call(Global g, List<Object> args) {
    switch (g.name) {
      case "_codecs.encode" -> { // protocol 2 stores bytes as (latin-1 text, 'latin1')
        return ((String) args.get(0)).getBytes(StandardCharsets.ISO_8859_1);
      }
      case "numpy.dtype" -> {
        return new DType((String) args.get(0));
      }
      case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct" -> {
        return new NdArray();
      }
      case "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar" -> { // numpy integer scalars
        DType t = (DType) args.get(0);
        byte[] raw = (byte[]) args.get(1);
        ByteBuffer b = ByteBuffer.wrap(raw).order(t.order == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        return switch (t.kind) {
          case "i8", "u8" -> b.getLong();
          case "i4" -> (long) b.getInt();
          case "u4" -> Integer.toUnsignedLong(b.getInt());
          case "i2" -> (long) b.getShort();
          case "u2" -> (long) (b.getShort() & 0xffff);
          case "i1" -> (long) b.get();
          case "u1" -> (long) (b.get() & 0xff);
          default -> throw fail("unsupported numpy scalar dtype " + t.kind);
        };
      }
      default -> throw fail("refusing to call " + g.name);
    }
  }

  private void build(Object target, Tuple state) {
    List<Object> s = state.items();
    if (target instanceof DType d) { // (version, byteorder, subarray, names, fields, elsize, alignment, flags)
      d.order = ((String) s.get(1)).charAt(0);
    } else if (target instanceof NdArray a) { // (version, shape, dtype, is_fortran, raw bytes)
      List<Object> shape = ((Tuple) s.get(1)).items();
      a.shape = shape.stream().mapToLong(o -> (Long) o).toArray();
      a.dtype = (DType) s.get(2);
      if (Boolean.TRUE.equals(s.get(3))) throw fail("Fortran-ordered arrays are not supported");
      a.raw = (byte[]) s.get(4);
    } else {
      throw fail("BUILD on an unexpected object");
    }
  }

  private static List<Object> popToMark(Deque<Object> stack) {
    List<Object> items = new ArrayList<>();
    for (Object o = stack.pop(); o != MARK; o = stack.pop()) items.add(0, o);
    return items;
  }

  private int u8() {
    return data[pos++] & 0xff;
  }

  private long u32() {
    long v = ByteBuffer.wrap(data, pos, 4).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xffffffffL;
    pos += 4;
    return v;
  }

  private long long1() {
    int n = u8();
    long v = 0;
    for (int i = 0; i < n; i++) v |= (long) (data[pos + i] & 0xff) << (8 * i);
    if (n > 0 && n < 8 && (data[pos + n - 1] & 0x80) != 0) v |= -1L << (8 * n); // sign-extend
    pos += n;
    return v;
  }

  private byte[] bytes(int n) {
    // checked before copying: copyOfRange would allocate the declared length, padding past the end with zeros
    if (n < 0 || n > data.length - pos) throw new IndexOutOfBoundsException("pickle truncated");
    byte[] out = java.util.Arrays.copyOfRange(data, pos, pos + n);
    pos += n;
    return out;
  }

  private String line() {
    int start = pos;
    while (data[pos] != '\n') pos++;
    return new String(data, start, pos++ - start, StandardCharsets.US_ASCII);
  }
}
