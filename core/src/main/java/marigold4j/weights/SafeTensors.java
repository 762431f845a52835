package marigold4j.weights;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.torch.Engine;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Reads the safetensors format: an 8-byte little-endian header length, a JSON header mapping names to dtype, shape
 * and byte range, then the raw little-endian data. The header is validated before anything is trusted; tensors are
 * memory-mapped and copied once into torch-owned storage.
 */
public final class SafeTensors {
  /** Largest header the reader accepts (the format's own limit is 100 MB). */
  static final long MAX_HEADER = 100L * 1024 * 1024;
  private static final ObjectMapper JSON = new ObjectMapper();

  private SafeTensors() {}

  /** One entry of the header. */
  public record Entry(String name, DType dtype, long[] shape, long begin, long end) {
    public long numel() {
      long n = 1;
      for (long d : shape) n *= d;
      return n;
    }
  }

  /** The parsed, validated header of a file. */
  public record Header(Path file, long dataStart, Map<String, Entry> entries, Map<String, String> metadata) {}

  public static Header readHeader(Path file) {
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
        root = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
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
        JsonNode d = v.get("shape").get(i);
        if (!d.canConvertToLong() || d.asLong() < 0) throw new CheckpointException(file, where + ": bad shape " + v.get("shape"));
        shape[i] = d.asLong();
      }
      long begin = v.get("data_offsets").get(0).asLong(-1);
      long end = v.get("data_offsets").get(1).asLong(-1);
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
    sorted.sort(Comparator.comparingLong(Entry::begin));
    for (int i = 1; i < sorted.size(); i++) {
      Entry a = sorted.get(i - 1);
      Entry b = sorted.get(i);
      if (b.begin() < a.end()) {
        throw new CheckpointException(file, "tensors '" + a.name() + "' and '" + b.name() + "' overlap");
      }
    }
    return new Header(file, dataStart, entries, metadata);
  }

  /** Loads every tensor of the file, in header order, as torch-owned tensors of their stored dtype. */
  public static Map<String, Tensor> load(Path file) {
    Header h = readHeader(file);
    Engine.init();
    Map<String, Tensor> out = new LinkedHashMap<>();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      for (Entry e : h.entries().values()) out.put(e.name(), read(ch, h, e));
    } catch (IOException ex) {
      throw new CheckpointException(file, "cannot read: " + ex.getMessage(), ex);
    }
    return out;
  }

  private static Tensor read(FileChannel ch, Header h, Entry e) throws IOException {
    TensorOptions opts = new TensorOptions(e.dtype().torchType());
    long len = e.end() - e.begin();
    if (len == 0) return torch.empty(e.shape(), opts, new org.bytedeco.pytorch.MemoryFormatOptional());
    // Each mapping must stay under 2 GiB on Java 17; single tensors of the SD2 family are far below that.
    MappedByteBuffer buf = ch.map(FileChannel.MapMode.READ_ONLY, h.dataStart() + e.begin(), len);
    try (BytePointer p = new BytePointer(buf)) {
      return torch.from_blob(p, e.shape(), opts).clone();
    }
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
