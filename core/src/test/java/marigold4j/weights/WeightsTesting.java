package marigold4j.weights;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/** Helpers for the weight-file tests: exact tensor comparison and hand-made files. */
final class WeightsTesting {
  private WeightsTesting() {}

  /** Same keys in the same order, and for each key the same dtype, shape and bit-identical values. */
  static void assertIdentical(Map<String, Tensor> actual, Map<String, Tensor> expected) {
    assertThat(actual.keySet()).containsExactlyElementsOf(expected.keySet());
    expected.forEach((k, e) -> assertIdentical(actual.get(k), e, k));
  }

  /** Same keys (any order), same dtypes, shapes and values. */
  static void assertSameTensors(Map<String, Tensor> actual, Map<String, Tensor> expected) {
    assertThat(actual.keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
    expected.forEach((k, e) -> assertIdentical(actual.get(k), e, k));
  }

  static void assertIdentical(Tensor actual, Tensor expected, String what) {
    assertThat(Tensors.dtype(actual)).as(what + " dtype").isEqualTo(Tensors.dtype(expected));
    assertThat(Tensors.shape(actual)).as(what + " shape").isEqualTo(Tensors.shape(expected));
    assertThat(actual.equal(expected)).as(what + " values").isTrue();
  }

  /** A file made of an 8-byte little-endian header length, the header text and the data bytes. */
  static Path rawSafetensors(Path file, long declaredHeaderLength, String header, byte[] data) throws IOException {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(declaredHeaderLength).put(h).put(data);
    Files.write(file, b.array());
    return file;
  }

  static Path rawSafetensors(Path file, String header, byte[] data) throws IOException {
    return rawSafetensors(file, header.getBytes(StandardCharsets.UTF_8).length, header, data);
  }

  /** A zip laid out as torch.save writes it: {@code <archive>/data.pkl}, {@code <archive>/data/<key>}, version. */
  static Path torchZip(Path file, String archive, byte[] pickle, Map<String, byte[]> storages) throws IOException {
    try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
      put(zip, archive + "/data.pkl", pickle);
      for (Map.Entry<String, byte[]> e : storages.entrySet()) put(zip, archive + "/data/" + e.getKey(), e.getValue());
      put(zip, archive + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
    }
    return file;
  }

  private static void put(ZipOutputStream zip, String name, byte[] bytes) throws IOException {
    zip.putNextEntry(new ZipEntry(name));
    zip.write(bytes);
    zip.closeEntry();
  }

  /** Little-endian float32 bytes. */
  static byte[] f32(float... v) {
    ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float x : v) b.putFloat(x);
    return b.array();
  }

  /** Writes pickle opcodes by hand (protocol 2), for files the Python side would never produce. */
  static final class Pickle {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Pickle op(int... bytes) {
      for (int b : bytes) out.write(b);
      return this;
    }

    Pickle proto() {
      return op(0x80, 2);
    }

    Pickle global(String module, String name) {
      op('c');
      byte[] b = (module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8);
      out.write(b, 0, b.length);
      return this;
    }

    Pickle str(String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      op('X');
      ByteBuffer n = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length);
      out.write(n.array(), 0, 4);
      out.write(b, 0, b.length);
      return this;
    }

    Pickle integer(int v) {
      op('J');
      out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array(), 0, 4);
      return this;
    }

    Pickle ints(long... v) {
      op('(');
      for (long x : v) integer((int) x);
      return op('t');
    }

    Pickle mark() {
      return op('(');
    }

    /** {@code _rebuild_tensor_v2(('storage', FloatStorage, key, 'cpu', numel), offset, size, stride, False, OrderedDict())}. */
    Pickle floatTensor(String key, long numel, long offset, long[] size, long[] stride) {
      global("torch._utils", "_rebuild_tensor_v2").mark();
      mark().str("storage").global("torch", "FloatStorage").str(key).str("cpu").integer((int) numel).op('t', 'Q');
      integer((int) offset).ints(size).ints(stride).op(0x89);
      global("collections", "OrderedDict").op(')', 'R');
      return op('t', 'R');
    }

    /** A state dict {@code {name: float tensor}}: pickle bytes ready for {@link #torchZip}. */
    static byte[] singleTensorDict(String name, String key, long numel, long offset, long[] size, long[] stride) {
      return new Pickle().proto().op('}').mark().str(name).floatTensor(key, numel, offset, size, stride)
          .op('u', '.').bytes();
    }

    byte[] bytes() {
      return out.toByteArray();
    }
  }
}
