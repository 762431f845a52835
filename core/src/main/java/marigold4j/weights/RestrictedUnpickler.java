package marigold4j.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import marigold4j.checkpoint.CheckpointException;

/**
 * A pickle reader for exactly what {@code torch.save(state_dict)} writes (protocol 2): dicts and
 * {@code OrderedDict}s of tensors rebuilt by {@code torch._utils._rebuild_tensor_v2} from persistent storage ids.
 *
 * <p>Nothing is ever executed. The stream is scanned once before anything is built: any opcode outside the small
 * set below, and any global outside {@link #ALLOWED_GLOBALS}, is refused with the file, the offset and the offending
 * name. The second pass builds plain Java values: the few allowed callables are interpreted by name, never looked up.
 */
final class RestrictedUnpickler {
  /** {@code module.name} of every global a state dict may reference; anything else is refused. */
  static final Set<String> ALLOWED_GLOBALS;

  /** Storage classes named in persistent ids, with the element type of their data. */
  static final Map<String, DType> STORAGE_TYPES = Map.of(
      "torch.FloatStorage", DType.F32,
      "torch.HalfStorage", DType.F16,
      "torch.BFloat16Storage", DType.BF16,
      "torch.DoubleStorage", DType.F64,
      "torch.LongStorage", DType.I64,
      "torch.IntStorage", DType.I32,
      "torch.ShortStorage", DType.I16,
      "torch.CharStorage", DType.I8,
      "torch.ByteStorage", DType.U8,
      "torch.BoolStorage", DType.BOOL);

  private static final String ORDERED_DICT = "collections.OrderedDict";
  private static final String REBUILD_V2 = "torch._utils._rebuild_tensor_v2";
  private static final String REBUILD = "torch._utils._rebuild_tensor";

  static {
    java.util.HashSet<String> s = new java.util.HashSet<>(STORAGE_TYPES.keySet());
    s.add(ORDERED_DICT);
    s.add(REBUILD_V2);
    s.add(REBUILD);
    ALLOWED_GLOBALS = Set.copyOf(s);
  }

  /** A reference to an allowed class or function (never resolved to anything executable). */
  record Global(String qualifiedName) {}

  /** A persistent id {@code ('storage', type, key, location, numel)}: the zip entry {@code data/<key>}. */
  record StorageRef(String key, DType dtype, String location, long numel) {}

  /** A tensor view of a storage: what {@code _rebuild_tensor_v2(storage, offset, size, stride, ...)} returns. */
  record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {}

  /** A pickled tuple (immutable). */
  record Tuple(List<Object> items) {}

  /** Python's None. */
  static final Object NONE = new Object() {
    @Override
    public String toString() {
      return "None";
    }
  };

  private final Path file;
  private final byte[] data;
  private int pos;
  private int opStart;

  private RestrictedUnpickler(Path file, byte[] data) {
    this.file = file;
    this.data = data;
  }

  /**
   * Validates {@code pickle} and returns its root object: a {@link Map} (dict or OrderedDict), {@link List},
   * {@link Tuple}, {@link TensorRef}, {@link StorageRef}, String, Long, Double, Boolean or {@link #NONE}.
   *
   * @param file named in every error message
   */
  static Object load(Path file, byte[] pickle) {
    new RestrictedUnpickler(file, pickle).run(false);
    return new RestrictedUnpickler(file, pickle).run(true);
  }

  private CheckpointException refuse(String problem) {
    return new CheckpointException(file, "data.pkl at byte " + opStart + ": " + problem);
  }

  /**
   * One pass over the opcode stream. With {@code build == false} it only decodes arguments and checks opcodes
   * and globals; with {@code build == true} it also runs the stack machine.
   */
  private Object run(boolean build) {
    Deque<Integer> marks = new ArrayDeque<>();
    Map<Long, Object> memo = new HashMap<>();
    List<Object> st = new ArrayList<>();  // the stack as a list: MARK-delimited slices are taken from its end
    while (true) {
      opStart = pos;
      if (pos >= data.length) throw refuse("pickle ends without STOP (truncated file?)");
      int op = data[pos++] & 0xff;
      switch (op) {
        case 0x80 -> { // PROTO
          int proto = u8();
          if (proto < 2 || proto > 5) throw refuse("unsupported pickle protocol " + proto);
        }
        case 0x95 -> bytes(8); // FRAME: a framing hint only
        case 'c' -> { // GLOBAL module\nname\n
          String module = line();
          String name = line();
          String q = module + "." + name;
          if (!ALLOWED_GLOBALS.contains(q)) {
            throw refuse("refusing global '" + q + "': only state-dict globals (OrderedDict, "
                + "torch._utils._rebuild_tensor_v2, torch.*Storage) are allowed; the file may be malicious");
          }
          if (build) st.add(new Global(q));
        }
        case 'q' -> put(build, st, memo, u8()); // BINPUT
        case 'r' -> put(build, st, memo, u32()); // LONG_BINPUT
        case 0x94 -> put(build, st, memo, memo.size()); // MEMOIZE
        case 'h' -> get(build, st, memo, u8()); // BINGET
        case 'j' -> get(build, st, memo, u32()); // LONG_BINGET
        case '(' -> { // MARK
          if (build) marks.push(st.size());
        }
        case '}' -> push(build, st, new LinkedHashMap<Object, Object>()); // EMPTY_DICT
        case ']' -> push(build, st, new ArrayList<Object>()); // EMPTY_LIST
        case ')' -> push(build, st, new Tuple(List.of())); // EMPTY_TUPLE
        case 't' -> { // TUPLE
          if (build) st.add(new Tuple(List.copyOf(popMark(st, marks))));
        }
        case 0x85, 0x86, 0x87 -> { // TUPLE1..3
          if (build) {
            int n = op - 0x84;
            List<Object> items = popN(st, n);
            st.add(new Tuple(List.copyOf(items)));
          }
        }
        case 'a' -> { // APPEND
          if (build) {
            Object v = pop(st);
            list(peek(st)).add(v);
          }
        }
        case 'e' -> { // APPENDS
          if (build) {
            List<Object> items = popMark(st, marks);
            list(peek(st)).addAll(items);
          }
        }
        case 'J' -> push(build, st, (long) ByteBuffer.wrap(bytes(4)).order(ByteOrder.LITTLE_ENDIAN).getInt()); // BININT
        case 'K' -> push(build, st, (long) u8()); // BININT1
        case 'M' -> push(build, st, (long) (u8() | (u8() << 8))); // BININT2
        case 0x8a -> push(build, st, long1(bytes(u8()))); // LONG1
        case 'X' -> push(build, st, utf8(bytes(u32AsLength()))); // BINUNICODE
        case 0x8c -> push(build, st, utf8(bytes(u8()))); // SHORT_BINUNICODE
        case 'G' -> push(build, st, ByteBuffer.wrap(bytes(8)).order(ByteOrder.BIG_ENDIAN).getDouble()); // BINFLOAT
        case 0x88 -> push(build, st, Boolean.TRUE); // NEWTRUE
        case 0x89 -> push(build, st, Boolean.FALSE); // NEWFALSE
        case 'N' -> push(build, st, NONE); // NONE
        case 'Q' -> { // BINPERSID
          if (build) st.add(persistentLoad(pop(st)));
        }
        case 'R' -> { // REDUCE
          if (build) {
            Object args = pop(st);
            Object callable = pop(st);
            st.add(reduce(callable, args));
          }
        }
        case 'b' -> { // BUILD
          if (build) {
            Object state = pop(st);
            build(peek(st), state);
          }
        }
        case 's' -> { // SETITEM
          if (build) {
            Object v = pop(st);
            Object k = pop(st);
            setItem(peek(st), k, v);
          }
        }
        case 'u' -> { // SETITEMS
          if (build) {
            List<Object> kv = popMark(st, marks);
            if (kv.size() % 2 != 0) throw refuse("SETITEMS with an odd number of items");
            Object target = peek(st);
            for (int i = 0; i < kv.size(); i += 2) setItem(target, kv.get(i), kv.get(i + 1));
          }
        }
        case '.' -> { // STOP
          if (!build) return null;
          if (st.size() != 1) throw refuse("STOP with " + st.size() + " objects on the stack (corrupt pickle)");
          return st.get(0);
        }
        default -> throw refuse(String.format(Locale.ROOT, "refusing pickle opcode 0x%02x%s: not used by state dicts",
            op, op >= 0x20 && op < 0x7f ? " ('" + (char) op + "')" : ""));
      }
    }
  }

  // ---- stack helpers ------------------------------------------------------------------------------------------

  private static void push(boolean build, List<Object> st, Object v) {
    if (build) st.add(v);
  }

  private Object pop(List<Object> st) {
    if (st.isEmpty()) throw refuse("stack underflow (corrupt pickle)");
    return st.remove(st.size() - 1);
  }

  private Object peek(List<Object> st) {
    if (st.isEmpty()) throw refuse("stack underflow (corrupt pickle)");
    return st.get(st.size() - 1);
  }

  private List<Object> popN(List<Object> st, int n) {
    if (st.size() < n) throw refuse("stack underflow (corrupt pickle)");
    List<Object> slice = new ArrayList<>(st.subList(st.size() - n, st.size()));
    st.subList(st.size() - n, st.size()).clear();
    return slice;
  }

  private List<Object> popMark(List<Object> st, Deque<Integer> marks) {
    if (marks.isEmpty()) throw refuse("no MARK to pop to (corrupt pickle)");
    int at = marks.pop();
    if (at > st.size()) throw refuse("MARK above the stack top (corrupt pickle)");
    return popN(st, st.size() - at);
  }

  private void put(boolean build, List<Object> st, Map<Long, Object> memo, long index) {
    if (build) {
      memo.put(index, peek(st));
    } else {
      memo.put(index, Boolean.TRUE); // the scan only counts memo slots (for MEMOIZE numbering)
    }
  }

  private void get(boolean build, List<Object> st, Map<Long, Object> memo, long index) {
    if (!build) return;
    Object v = memo.get(index);
    if (v == null) throw refuse("memo slot " + index + " read before it was written (corrupt pickle)");
    st.add(v);
  }

  @SuppressWarnings("unchecked")
  private List<Object> list(Object o) {
    if (o instanceof List<?> l) return (List<Object>) l;
    throw refuse("APPEND(S) on a " + typeName(o) + ", not a list");
  }

  // ---- the allowed semantics ----------------------------------------------------------------------------------

  @SuppressWarnings("unchecked")
  private void setItem(Object target, Object key, Object value) {
    if (!(target instanceof Map<?, ?> m)) throw refuse("SETITEM(S) on a " + typeName(target) + ", not a dict");
    // keys of state dicts are strings; restricting keys keeps hashing trivial (no self-referencing containers)
    if (!(key instanceof String || key instanceof Long || key instanceof Boolean || key == NONE)) {
      throw refuse("dict key of type " + typeName(key) + " is not supported");
    }
    ((Map<Object, Object>) m).put(key, value);
  }

  private Object persistentLoad(Object pid) {
    // torch.serialization: ('storage', storage_type, key, location, numel)
    if (!(pid instanceof Tuple t) || t.items().size() != 5 || !"storage".equals(t.items().get(0))) {
      throw refuse("persistent id " + describe(pid) + " is not a torch storage reference");
    }
    List<Object> p = t.items();
    if (!(p.get(1) instanceof Global g) || !STORAGE_TYPES.containsKey(g.qualifiedName())) {
      throw refuse("persistent id names " + describe(p.get(1)) + ", not a torch storage class");
    }
    if (!(p.get(2) instanceof String key) || !(p.get(3) instanceof String location)
        || !(p.get(4) instanceof Long numel) || numel < 0) {
      throw refuse("malformed storage reference " + describe(pid));
    }
    return new StorageRef(key, STORAGE_TYPES.get(g.qualifiedName()), location, numel);
  }

  private Object reduce(Object callable, Object args) {
    if (!(callable instanceof Global g)) throw refuse("REDUCE on a " + typeName(callable) + ", not a global");
    if (!(args instanceof Tuple t)) throw refuse("REDUCE with " + typeName(args) + " arguments, not a tuple");
    List<Object> a = t.items();
    switch (g.qualifiedName()) {
      case ORDERED_DICT -> {
        if (!a.isEmpty()) throw refuse("OrderedDict called with arguments");
        return new LinkedHashMap<Object, Object>();
      }
      case REBUILD_V2, REBUILD -> {
        // v2: (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]); v1: first four
        boolean v2 = g.qualifiedName().equals(REBUILD_V2);
        if (v2 ? (a.size() != 6 && a.size() != 7) : a.size() != 4) {
          throw refuse(g.qualifiedName() + " called with " + a.size() + " arguments");
        }
        if (!(a.get(0) instanceof StorageRef s)) throw refuse("tensor rebuilt from a " + typeName(a.get(0)));
        if (!(a.get(1) instanceof Long offset)) throw refuse("tensor storage offset is a " + typeName(a.get(1)));
        long[] size = longs(a.get(2), "size");
        long[] stride = longs(a.get(3), "stride");
        if (v2) {
          if (!(a.get(4) instanceof Boolean)) throw refuse("requires_grad is a " + typeName(a.get(4)));
          // backward hooks cannot be restored (and a state dict has none)
          if (!(a.get(5) instanceof Map<?, ?> hooks) || !hooks.isEmpty()) {
            throw refuse("tensor with backward hooks " + describe(a.get(5)));
          }
          if (a.size() == 7 && !(a.get(6) == NONE || a.get(6) instanceof Map<?, ?>)) {
            throw refuse("tensor metadata is a " + typeName(a.get(6)));
          }
        }
        return new TensorRef(s, offset, size, stride);
      }
      default -> throw refuse("'" + g.qualifiedName() + "' cannot be called");
    }
  }

  private void build(Object target, Object state) {
    // OrderedDict state: the instance __dict__ (state_dict()'s `_metadata` version table), not needed for loading
    if (!(target instanceof Map<?, ?>)) throw refuse("BUILD on a " + typeName(target));
    if (!(state instanceof Map<?, ?> || state == NONE)) throw refuse("BUILD with a " + typeName(state) + " state");
  }

  private long[] longs(Object o, String what) {
    if (!(o instanceof Tuple t)) throw refuse("tensor " + what + " is a " + typeName(o) + ", not a tuple");
    long[] out = new long[t.items().size()];
    for (int i = 0; i < out.length; i++) {
      if (!(t.items().get(i) instanceof Long v)) throw refuse("tensor " + what + " " + describe(o) + " is not integral");
      out[i] = v;
    }
    return out;
  }

  // ---- argument decoding --------------------------------------------------------------------------------------

  private int u8() {
    if (pos >= data.length) throw refuse("pickle truncated inside an opcode");
    return data[pos++] & 0xff;
  }

  private long u32() {
    return Integer.toUnsignedLong(ByteBuffer.wrap(bytes(4)).order(ByteOrder.LITTLE_ENDIAN).getInt());
  }

  private int u32AsLength() {
    long n = u32();
    if (n > data.length - pos) throw refuse("string of " + n + " bytes runs past the end of the pickle");
    return (int) n;
  }

  private byte[] bytes(int n) {
    if (n > data.length - pos) throw refuse("pickle truncated inside an opcode");
    byte[] b = Arrays.copyOfRange(data, pos, pos + n);
    pos += n;
    return b;
  }

  private String line() {
    int start = pos;
    while (pos < data.length && data[pos] != '\n') pos++;
    if (pos >= data.length) throw refuse("GLOBAL name runs past the end of the pickle");
    String s = new String(data, start, pos - start, StandardCharsets.UTF_8);
    pos++;
    return s;
  }

  private Object long1(byte[] le) {
    // little-endian two's complement; state dicts only ever need values that fit a long
    if (le.length > 8) throw refuse("integer of " + le.length + " bytes is too large");
    long v = 0;
    for (int i = le.length - 1; i >= 0; i--) v = (v << 8) | (le[i] & 0xff);
    if (le.length > 0 && le.length < 8 && (le[le.length - 1] & 0x80) != 0) v -= 1L << (8 * le.length);
    return v;
  }

  private String utf8(byte[] b) {
    try {
      return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
    } catch (CharacterCodingException e) {
      throw refuse("string is not valid UTF-8");
    }
  }

  private static String typeName(Object o) {
    if (o == null || o == NONE) return "None";
    if (o instanceof Global g) return "global " + g.qualifiedName();
    if (o instanceof Map<?, ?>) return "dict";
    if (o instanceof List<?>) return "list";
    if (o instanceof Tuple) return "tuple";
    if (o instanceof StorageRef) return "storage";
    if (o instanceof TensorRef) return "tensor";
    if (o instanceof String) return "str";
    if (o instanceof Long) return "int";
    if (o instanceof Double) return "float";
    if (o instanceof Boolean) return "bool";
    return o.getClass().getSimpleName();
  }

  private static String describe(Object o) {
    return describe(o, 0);
  }

  private static String describe(Object o, int depth) {
    if (o instanceof Tuple t) {
      if (depth > 3 || t.items().size() > 8) return "tuple of " + t.items().size();
      List<String> parts = new ArrayList<>();
      for (Object i : t.items()) parts.add(describe(i, depth + 1));
      return "(" + String.join(", ", parts) + ")";
    }
    if (o instanceof String s) return "'" + (s.length() > 60 ? s.substring(0, 60) + "..." : s) + "'";
    if (o instanceof Long || o instanceof Boolean || o instanceof Double || o == NONE) return String.valueOf(o);
    return typeName(o);
  }
}
