package marigold4j.weights;

import static marigold4j.weights.WeightsTesting.assertIdentical;
import static marigold4j.weights.WeightsTesting.f32;
import static marigold4j.weights.WeightsTesting.rawSafetensors;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.testing.Golden;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
  @TempDir Path dir;

  @BeforeAll
  static void boot() {
    Engine.init();
    Engine.setThreads(1);
  }

  /** F32, F16, BF16 and I64 tensors of several shapes, including a non-contiguous view and a scalar. */
  static Map<String, Tensor> mixed() {
    torch.manual_seed(7);
    Map<String, Tensor> m = new LinkedHashMap<>();
    m.put("f32", torch.randn(3, 4, 5));
    m.put("f16", torch.randn(7, 3).to(torch.ScalarType.Half));
    m.put("bf16", torch.randn(2, 9).to(torch.ScalarType.BFloat16));
    m.put("i64", torch.arange(F64(-50), F64(50)).to(torch.ScalarType.Long).reshape(10, 10).mul(
        new org.bytedeco.pytorch.Scalar(123456789L)));
    m.put("transposed", torch.randn(4, 6).t());
    m.put("scalar", torch.randn(new long[0]));
    m.put("empty", torch.zeros(0, 3));
    return m;
  }

  private static org.bytedeco.pytorch.Scalar F64(double v) {
    return new org.bytedeco.pytorch.Scalar(v);
  }

  @Test
  void roundTripsF32F16Bf16AndI64Exactly() {
    Map<String, Tensor> tensors = mixed();
    Path file = dir.resolve("m.safetensors");
    SafeTensors.save(file, tensors, null);
    Map<String, Tensor> back = SafeTensors.load(file);
    assertIdentical(back, tensors);
    assertThat(SafeTensors.readHeader(file).metadata()).containsExactly(Map.entry("format", "pt"));
  }

  @Test
  void convertsFloatingPointTensorsWhileReadingAndLeavesIntegersAlone() {
    Map<String, Tensor> tensors = mixed();
    Path file = dir.resolve("convert.safetensors");
    SafeTensors.save(file, tensors, null);
    Map<String, Tensor> bf16 = SafeTensors.load(file, torch.ScalarType.BFloat16);
    assertThat(bf16.keySet()).containsExactlyElementsOf(tensors.keySet());
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      Tensor want = e.getValue().is_floating_point() ? e.getValue().to(torch.ScalarType.BFloat16) : e.getValue();
      Tensor got = bf16.get(e.getKey());
      assertThat(Tensors.dtype(got)).as(e.getKey()).isEqualTo(Tensors.dtype(want));
      assertThat(torch.equal(got, want)).as(e.getKey()).isTrue();
    }
  }

  @Test
  void roundTripsThroughCopyWindowsSmallerThanATensor() {
    // the chunked path is what tensors above 2 GiB take; a 7-byte window exercises it on small tensors
    Map<String, Tensor> tensors = mixed();
    Path file = dir.resolve("chunked.safetensors");
    SafeTensors.save(file, tensors, Map.of("note", "x"), 7);
    assertIdentical(SafeTensors.load(file, 5), tensors);
    assertIdentical(SafeTensors.load(file), tensors);
  }

  @Test
  void writesTheHeaderAsThePythonLibraryDoes() throws IOException {
    Path file = dir.resolve("a.safetensors");
    SafeTensors.save(file, Map.of("a", Tensors.fromFloats(new float[] {1f, 2f}, 2)), null);
    byte[] b = Files.readAllBytes(file);
    long n = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    String header = new String(b, 8, (int) n, StandardCharsets.UTF_8);
    assertThat(header.stripTrailing())
        .isEqualTo("{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}");
    assertThat(n % 8).as("header padded to a multiple of 8").isZero();
    assertThat(header.substring(header.stripTrailing().length())).matches(" *");
    assertThat(b).hasSize((int) (8 + n + 8));
    assertThat(ByteBuffer.wrap(b, (int) (8 + n), 8).order(ByteOrder.LITTLE_ENDIAN).getFloat()).isEqualTo(1f);
  }

  @Test
  void writesDataInTheMapsKeyOrderWithMetadata() {
    Map<String, Tensor> m = new LinkedHashMap<>();
    m.put("z", torch.ones(2));
    m.put("a", torch.ones(3).to(torch.ScalarType.Half));
    Path file = dir.resolve("order.safetensors");
    SafeTensors.save(file, m, Map.of("source", "test"));
    SafeTensors.Header h = SafeTensors.readHeader(file);
    assertThat(h.entries().keySet()).containsExactly("z", "a");
    assertThat(h.entries().get("z").begin()).isZero();
    assertThat(h.entries().get("a").begin()).isEqualTo(8);
    assertThat(h.metadata()).containsEntry("format", "pt").containsEntry("source", "test");
  }

  @Test
  void readsTheFixtureWrittenByPython() {
    Map<String, Tensor> t = SafeTensors.load(Golden.fixtures().resolve("weights/expected.safetensors"));
    assertThat(t.keySet()).containsExactly("embed.ids", "conv.bias", "conv.weight", "view.slice", "view.transposed",
        "norm.bias", "norm.weight");
    assertThat(Tensors.dtype(t.get("norm.bias"))).isEqualTo(torch.ScalarType.BFloat16);
    assertThat(Tensors.dtype(t.get("embed.ids"))).isEqualTo(torch.ScalarType.Long);
  }

  @Test
  void replacesAnExistingFileAtomicallyAndLeavesNoTemporaryFiles() throws IOException {
    Path file = dir.resolve("w.safetensors");
    SafeTensors.save(file, Map.of("a", torch.zeros(4)), null);
    SafeTensors.save(file, Map.of("b", torch.ones(2)), null);
    assertThat(SafeTensors.load(file).keySet()).containsExactly("b");
    try (Stream<Path> s = Files.list(dir)) {
      assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("w.safetensors");
    }
  }

  @Test
  void aFailedWriteKeepsTheOldFileAndRemovesItsTemporaryFile() throws IOException {
    Path file = dir.resolve("w.safetensors");
    SafeTensors.save(file, Map.of("a", torch.zeros(4)), null);
    Map<String, Tensor> bad = new LinkedHashMap<>();
    bad.put("ok", torch.ones(2));
    bad.put("c", torch.zeros(2).to(torch.ScalarType.ComplexFloat));
    assertThatThrownBy(() -> SafeTensors.save(file, bad, null))
        .isInstanceOf(CheckpointException.class).hasMessageContaining(file.toString()).hasMessageContaining("'c'");
    assertThat(SafeTensors.load(file).keySet()).containsExactly("a");
    try (Stream<Path> s = Files.list(dir)) {
      assertThat(s.toList()).hasSize(1);
    }
  }

  @Test
  void loadedTensorsCarryNoGradientsAndAreFreedWithTheCallersScope() {
    Path file = dir.resolve("m.safetensors");
    SafeTensors.save(file, mixed(), null);
    System.gc();
    long before = Pointer.totalCount();
    for (int i = 0; i < 5; i++) {
      try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
        Map<String, Tensor> t = SafeTensors.load(file);
        assertThat(t.get("f32").requires_grad()).isFalse();
      }
      assertThat(Pointer.totalCount()).as("native objects alive after scope " + i).isLessThanOrEqualTo(before);
    }
  }

  // ---- hardening: every broken file is a CheckpointException naming the file and the problem -------------------

  private void assertRefused(Path file, String problem) {
    assertThatThrownBy(() -> SafeTensors.load(file))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining(problem);
  }

  private static final String ONE_TENSOR = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";

  @Test
  void refusesATruncatedFile() throws IOException {
    Path file = dir.resolve("t.safetensors");
    SafeTensors.save(file, mixed(), null);
    byte[] b = Files.readAllBytes(file);
    Files.write(file, java.util.Arrays.copyOf(b, b.length - 10));
    assertRefused(file, "truncated file?");
    Files.write(file, java.util.Arrays.copyOf(b, 5));
    assertRefused(file, "only 5 bytes");
    Files.write(file, new byte[0]);
    assertRefused(file, "only 0 bytes");
  }

  @Test
  void refusesAHeaderLengthBeyondTheFile() throws IOException {
    assertRefused(rawSafetensors(dir.resolve("h.safetensors"), 1000, ONE_TENSOR, new byte[16]),
        "header length 1000 for a file of");
    assertRefused(rawSafetensors(dir.resolve("neg.safetensors"), -5, ONE_TENSOR, new byte[16]), "header length -5");
  }

  @Test
  void refusesMalformedJson() throws IOException {
    assertRefused(rawSafetensors(dir.resolve("j.safetensors"), "{\"a\":{\"dtype\":", new byte[16]), "not valid JSON");
    assertRefused(rawSafetensors(dir.resolve("arr.safetensors"), "[1, 2]", new byte[0]), "not a JSON object");
    assertRefused(rawSafetensors(dir.resolve("e.safetensors"), "{\"a\":{\"dtype\":\"F32\"}}", new byte[0]),
        "needs dtype, shape and two data_offsets");
    assertRefused(rawSafetensors(dir.resolve("dup.safetensors"),
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]), "Duplicate field 'a'");
    byte[] utf = ONE_TENSOR.getBytes(StandardCharsets.UTF_8);
    utf[2] = (byte) 0xff; // inside the name "a"
    assertRefused(rawSafetensors(dir.resolve("u.safetensors"), utf.length,
        new String(utf, StandardCharsets.ISO_8859_1), new byte[16]), "not valid");
  }

  @Test
  void refusesAByteRangeOutsideTheData() throws IOException {
    assertRefused(rawSafetensors(dir.resolve("r.safetensors"),
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[16],\"data_offsets\":[0,64]}}", new byte[16]),
        "byte range [0, 64) outside the 16 data bytes");
    assertRefused(rawSafetensors(dir.resolve("n.safetensors"),
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", new byte[16]), "byte range");
    assertRefused(rawSafetensors(dir.resolve("f.safetensors"),
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0.5,4.5]}}", new byte[16]), "byte range");
  }

  @Test
  void refusesASizeInconsistentWithDtypeAndShape() throws IOException {
    assertRefused(rawSafetensors(dir.resolve("s.safetensors"),
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,8]}}", new byte[16]),
        "8 bytes stored but F32 x [2, 2] needs 16");
    assertRefused(rawSafetensors(dir.resolve("b.safetensors"),
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", new byte[16]), "bad shape");
    assertRefused(rawSafetensors(dir.resolve("o.safetensors"),
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", new byte[16]),
        "shape too large");
  }

  @Test
  void refusesOverlappingRanges() throws IOException {
    assertRefused(rawSafetensors(dir.resolve("ov.safetensors"),
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", new byte[24]),
        "tensors 'a' [0, 16) and 'b' [8, 24) overlap");
  }

  @Test
  void refusesAnUnknownDtype() throws IOException {
    assertRefused(rawSafetensors(dir.resolve("d.safetensors"),
        "{\"a\":{\"dtype\":\"F8_E5M2\",\"shape\":[4],\"data_offsets\":[0,4]}}", new byte[4]),
        "unsupported dtype F8_E5M2");
  }

  @Test
  void readsTensorsStoredBeyondTwoGibibytesIntoTheFile() throws IOException {
    // a sparse file: 3 GB of hole before the one tensor, so nothing big is written to disk
    long begin = 3_000_000_000L;
    String header = "{\"far\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[" + begin + "," + (begin + 16) + "]}}";
    Path file = rawSafetensors(dir.resolve("far.safetensors"), header, new byte[0]);
    long dataStart = 8 + header.getBytes(StandardCharsets.UTF_8).length;
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      raf.seek(dataStart + begin);
      raf.write(f32(1.5f, -2f, 3.25f, 1e-3f));
    }
    Tensor t = SafeTensors.load(file).get("far");
    assertThat(Tensors.shape(t)).containsExactly(2, 2);
    assertThat(Tensors.toFloats(t)).containsExactly(1.5f, -2f, 3.25f, 1e-3f);
  }

  @Test
  void headerOfRealCheckpointsValidates() {
    for (String f : List.of("tiny-marigold-depth/unet/diffusion_pytorch_model.safetensors",
        "tiny-marigold-depth/text_encoder/model.safetensors")) {
      SafeTensors.Header h = SafeTensors.readHeader(Golden.fixtures().resolve("checkpoints").resolve(f));
      assertThat(h.entries()).isNotEmpty();
    }
  }
}
