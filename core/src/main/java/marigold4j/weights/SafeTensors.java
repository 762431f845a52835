package marigold4j.weights;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.torch.Engine;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Reads the safetensors format: an 8-byte little-endian header length, a JSON header mapping names to dtype, shape
 * and byte range, then the raw little-endian data. The header is validated before anything is trusted (dtype x shape
 * against byte range, ranges inside the data and disjoint, no duplicate names); each tensor is then read with one
 * positioned read straight into torch-owned memory.
 */
public final class SafeTensors {
  /** Largest header the reader accepts (the format's own limit is 100 MB). */
  static final long MAX_HEADER = 100L * 1024 * 1024;
  /** Duplicate names in the header would silently shadow each other: the Python library rejects them too. */
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private SafeTensors() {}

  /** One entry of the header; {@code begin} and {@code end} are byte offsets relative to the data section. */
  public record Entry(String name, DType dtype, long[] shape, long begin, long end) {
    /** Element count; throws {@link ArithmeticException} if the shape overflows a long. */
    public long numel() {
      long n = 1;
      for (long d : shape) n = Math.multiplyExact(n, d);
      return n;
    }
  }

  /** The parsed, validated header of a file. */
  public record Header(Path file, long dataStart, Map<String, Entry> entries, Map<String, String> metadata) {}

  /** Reads and validates the header only; no tensor data is touched. */
  public static Header readHeader(Path file) {
    file = marigold4j.checkpoint.LinkFiles.resolve(file);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < 8) throw new CheckpointException(file, "not a safetensors file: only " + size + " bytes");
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, len, 0);
      long n = len.flip().getLong();
      if (n <= 0 || n > MAX_HEADER || 8 + n > size) {
        throw new CheckpointException(file, "not a safetensors file or truncated: header length " + n
            + " for a file of " + size + " bytes");
      }
      ByteBuffer hb = ByteBuffer.allocate((int) n);
      readFully(ch, hb, 8);
      JsonNode root;
      try {
        root = JSON.readTree(StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(hb.flip())
            .toString());
      } catch (CharacterCodingException e) {
        throw new CheckpointException(file, "safetensors header is not valid UTF-8");
      } catch (JsonProcessingException e) {
        throw new CheckpointException(file, "safetensors header is not valid JSON: " + e.getOriginalMessage());
      }
      if (root == null || !root.isObject()) throw new CheckpointException(file, "safetensors header is not a JSON object");
      return parse(file, root, 8 + n, size - 8 - n);
    } catch (NoSuchFileException e) {
      throw new CheckpointException(file, "file not found");
    } catch (IOException e) {
      throw new CheckpointException(file, "cannot read: " + e.getMessage(), e);
    }
  }

  private static Header parse(Path file, JsonNode root, long dataStart, long dataLen) {
    Map<String, Entry> entries = new LinkedHashMap<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      String name = f.getKey();
      JsonNode v = f.getValue();
      if (name.equals("__metadata__")) {
        if (v.isObject()) v.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
        continue;
      }
      String where = "tensor '" + name + "'";
      if (!v.isObject() || !v.path("dtype").isTextual() || !v.path("shape").isArray()
          || !v.path("data_offsets").isArray() || v.path("data_offsets").size() != 2) {
        throw new CheckpointException(file, where + ": header entry needs dtype, shape and two data_offsets");
      }
      DType dtype = DType.fromSafetensors(v.get("dtype").asText());
      if (dtype == null) throw new CheckpointException(file, where + ": unsupported dtype " + v.get("dtype").asText());
      long[] shape = new long[v.get("shape").size()];
      for (int i = 0; i < shape.length; i++) {
        long d = nonNegativeLong(v.get("shape").get(i));
        if (d < 0) throw new CheckpointException(file, where + ": bad shape " + v.get("shape"));
        shape[i] = d;
      }
      long begin = nonNegativeLong(v.get("data_offsets").get(0));
      long end = nonNegativeLong(v.get("data_offsets").get(1));
      if (begin < 0 || end < 0) {
        throw new CheckpointException(file, where + ": byte range " + v.get("data_offsets")
            + " is not two non-negative integers (data_offsets)");
      }
      Entry e = new Entry(name, dtype, shape, begin, end);
      if (begin < 0 || end < begin || end > dataLen) {
        throw new CheckpointException(file, where + ": byte range [" + begin + ", " + end + ") outside the "
            + dataLen + " data bytes (truncated file?)");
      }
      long expected;
      try {
        expected = Math.multiplyExact(e.numel(), (long) dtype.bytes());
      } catch (ArithmeticException overflow) {
        throw new CheckpointException(file, where + ": shape too large");
      }
      if (end - begin != expected) {
        throw new CheckpointException(file, where + ": " + (end - begin) + " bytes stored but " + dtype + " x "
            + java.util.Arrays.toString(shape) + " needs " + expected);
      }
      entries.put(name, e);
    }
    List<Entry> sorted = new ArrayList<>(entries.values());
    sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
    for (int i = 1; i < sorted.size(); i++) {
      Entry a = sorted.get(i - 1);
      Entry b = sorted.get(i);
      if (b.begin() < a.end()) {
        throw new CheckpointException(file, "tensors '" + a.name() + "' [" + a.begin() + ", " + a.end() + ") and '"
            + b.name() + "' [" + b.begin() + ", " + b.end() + ") overlap");
      }
    }
    return new Header(file, dataStart, entries, metadata);
  }

  /** Loads every tensor of the file, in header order, as torch-owned tensors of their stored dtype. */
  public static Map<String, Tensor> load(Path file) {
    return load(file, null, NativeBytes.CHUNK);
  }

  /**
   * {@link #load(Path)} converting floating-point tensors to {@code floatDtype} (null: keep the stored dtype) one at a
   * time as they are read, so loading fp32 weights in bf16 never holds the whole fp32 state dict.
   */
  public static Map<String, Tensor> load(Path file, torch.ScalarType floatDtype) {
    return load(file, floatDtype, NativeBytes.CHUNK);
  }

  /** {@link #load(Path)} with a smaller copy window, so tests can exercise tensors spanning several windows. */
  static Map<String, Tensor> load(Path file, int chunk) {
    return load(file, null, chunk);
  }

  private static Map<String, Tensor> load(Path file, torch.ScalarType floatDtype, int chunk) {
    file = marigold4j.checkpoint.LinkFiles.resolve(file);
    Header h = readHeader(file);
    Engine.init();
    NativeBytes.requireLittleEndianHost();
    Map<String, Tensor> out = new LinkedHashMap<>();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long needed = h.dataStart() + h.entries().values().stream().mapToLong(Entry::end).max().orElse(0);
      // the header was validated against the size seen then; a file shrunk since must not be read past its end
      if (ch.size() < needed) throw new CheckpointException(file, "file shrank to " + ch.size() + " bytes while reading");
      for (Entry e : h.entries().values()) {
        // one positioned read per tensor straight into torch memory: absolute offsets are longs, so tensors
        // beyond 2 GiB into the file (and tensors larger than one Java buffer) need no special handling
        Tensor t = F.empty(e.shape(), e.dtype().torchType());
        NativeBytes.read(ch, h.dataStart() + e.begin(), t, e.end() - e.begin(), chunk);
        if (floatDtype != null && t.is_floating_point() && e.dtype().torchType() != floatDtype) {
          Tensor converted = t.to(floatDtype);
          t.close();
          t = converted;
        }
        out.put(e.name(), t);
      }
    } catch (IOException ex) {
      throw new CheckpointException(file, "cannot read: " + ex.getMessage(), ex);
    }
    return out;
  }

  /**
   * Writes {@code tensors} as a safetensors file the Python library reads back unchanged: header JSON with
   * {@code __metadata__} ({@code "format": "pt"} plus {@code metadata}), padded with spaces to a multiple of 8
   * bytes, then each tensor's bytes (contiguous, little-endian) in the map's iteration order. The file is written
   * to a temporary file in the same folder and renamed over {@code file}, so readers never see a partial file.
   *
   * @param metadata extra string metadata (nullable); a {@code format} entry there replaces {@code "pt"}
   */
  public static void save(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
    save(file, tensors, metadata, NativeBytes.CHUNK);
  }

  static void save(Path file, Map<String, Tensor> tensors, Map<String, String> metadata, int chunk) {
    Engine.init();
    NativeBytes.requireLittleEndianHost();
    Map<String, Tensor> data = new LinkedHashMap<>();
    ObjectNode header = JSON.createObjectNode();
    ObjectNode meta = header.putObject("__metadata__");
    meta.put("format", "pt");
    if (metadata != null) metadata.forEach(meta::put);
    long offset = 0;
    for (Map.Entry<String, Tensor> en : tensors.entrySet()) {
      String name = en.getKey();
      if (name.equals("__metadata__")) throw new CheckpointException(file, "'__metadata__' cannot name a tensor");
      Tensor t = en.getValue().detach().cpu().contiguous();
      DType dtype;
      try {
        dtype = DType.fromTorch(Tensors.dtype(t));
      } catch (IllegalArgumentException ex) {
        throw new CheckpointException(file, "tensor '" + name + "': " + ex.getMessage());
      }
      long n = t.nbytes();
      ObjectNode e = header.putObject(name);
      e.put("dtype", dtype.safetensorsName());
      ArrayNode shape = e.putArray("shape");
      for (long d : Tensors.shape(t)) shape.add(d);
      e.putArray("data_offsets").add(offset).add(offset + n);
      offset += n;
      data.put(name, t);
    }
    byte[] json;
    try {
      json = JSON.writeValueAsBytes(header);
    } catch (JsonProcessingException ex) {
      throw new CheckpointException(file, "cannot encode the header: " + ex.getMessage(), ex);
    }
    // as the Python library does: pad with spaces so the data section starts 8-byte aligned
    int padded = (json.length + 7) / 8 * 8;
    ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
    head.putLong(padded).put(json);
    while (head.hasRemaining()) head.put((byte) ' ');
    head.flip();

    Path dir = file.toAbsolutePath().getParent();
    Path tmp = null;
    try {
      tmp = marigold4j.image.AtomicFiles.newTempFile(dir, "." + file.getFileName() + ".");
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        while (head.hasRemaining()) ch.write(head);
        for (Tensor t : data.values()) NativeBytes.write(t, ch, chunk);
        ch.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      tmp = null;
    } catch (IOException ex) {
      throw new CheckpointException(file, "cannot write: " + ex.getMessage(), ex);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort: the original error matters more
        }
      }
    }
  }

  /** An integral, non-negative JSON number as a long, else -1. */
  private static long nonNegativeLong(JsonNode n) {
    if (n == null || !n.isIntegralNumber() || !n.canConvertToLong()) return -1;
    long v = n.asLong();
    return v < 0 ? -1 : v;
  }

  private static void readFully(FileChannel ch, ByteBuffer dst, long pos) throws IOException {
    while (dst.hasRemaining()) {
      int r = ch.read(dst, pos);
      if (r < 0) throw new IOException("unexpected end of file");
      pos += r;
    }
  }

  /** Convenience for tests and tools: checks the file exists and is a plausible safetensors file. */
  public static boolean looksLikeSafetensors(Path file) {
    return Files.isRegularFile(file) && file.getFileName().toString().endsWith(".safetensors");
  }
}
