package marigold4j.weights;

import static marigold4j.weights.WeightsTesting.f32;
import static marigold4j.weights.WeightsTesting.torchZip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.testing.Golden;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import marigold4j.weights.WeightsTesting.Pickle;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TorchBinTest {
  @TempDir Path dir;

  static Path weights(String name) {
    return Golden.fixtures().resolve("weights").resolve(name);
  }

  @BeforeAll
  static void boot() {
    Engine.init();
    Engine.setThreads(1);
  }

  @Test
  void loadsAnOrderedDictRootExactlyAsExpected() {
    Map<String, Tensor> expected = SafeTensors.load(weights("expected.safetensors"));
    Map<String, Tensor> actual = TorchBin.load(weights("ordereddict_root.bin"));
    assertThat(actual.keySet()).as("pickle order").containsExactly("conv.weight", "conv.bias", "norm.weight",
        "norm.bias", "embed.ids", "view.transposed", "view.slice");
    WeightsTesting.assertSameTensors(actual, expected);
  }

  @Test
  void loadsAPlainDictRootExactlyAsExpected() {
    Map<String, Tensor> expected = SafeTensors.load(weights("expected.safetensors"));
    WeightsTesting.assertSameTensors(TorchBin.load(weights("plain_dict_root.bin")), expected);
  }

  @Test
  void viewsOfOneStorageComeOutContiguousAndIndependent() {
    Map<String, Tensor> t = TorchBin.load(weights("ordereddict_root.bin"));
    Tensor transposed = t.get("view.transposed");
    Tensor slice = t.get("view.slice");
    assertThat(transposed.is_contiguous()).isTrue();
    assertThat(slice.is_contiguous()).isTrue();
    // the slice starts 10 elements into the storage the transpose (stride (1, 5)) covers
    assertThat(Tensors.toFloats(slice)).containsExactly(
        Arrays.copyOfRange(Tensors.toFloats(transposed.t().contiguous()), 10, 20));
    slice.zero_();
    assertThat(Tensors.toFloats(transposed)).as("no aliasing between returned tensors").isNotEqualTo(new float[30]);
  }

  @Test
  void refusesThePickleThatCallsOsSystem() {
    assertThatThrownBy(() -> TorchBin.load(weights("malicious_os_system.bin")))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("malicious_os_system.bin")
        .hasMessageContaining("refusing global 'posix.system'");
  }

  @Test
  void aRefusedGlobalHasNoSideEffect() throws IOException {
    Path witness = dir.resolve("pwned");
    for (String[] g : new String[][] {{"posix", "system"}, {"os", "system"}, {"subprocess", "call"}}) {
      byte[] pkl = new Pickle().proto().op('}').str("x").global(g[0], g[1]).str("touch " + witness).op(0x85, 'R', 's', '.')
          .bytes();
      Path file = torchZip(dir.resolve(g[0] + ".bin"), "archive", pkl, Map.of());
      assertThatThrownBy(() -> TorchBin.load(file))
          .isInstanceOf(CheckpointException.class)
          .hasMessageContaining(file.toString())
          .hasMessageContaining("'" + g[0] + "." + g[1] + "'");
    }
    assertThat(witness).doesNotExist();
  }

  @Test
  void refusesABadGlobalEvenAfterValidTensors() throws IOException {
    // the whole stream is checked before anything is built
    byte[] good = Pickle.singleTensorDict("w", "0", 2, 0, new long[] {2}, new long[] {1});
    byte[] pkl = Arrays.copyOf(good, good.length - 1); // drop STOP
    pkl = concat(pkl, new Pickle().global("builtins", "eval").op('0', '.').bytes());
    Path file = torchZip(dir.resolve("late.bin"), "archive", pkl, Map.of("0", f32(1, 2)));
    assertThatThrownBy(() -> TorchBin.load(file)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining("refusing global 'builtins.eval'");
  }

  @Test
  void refusesOpcodesStateDictsDoNotUse() throws IOException {
    // INST ('i') instantiates a class by name
    byte[] pkl = new Pickle().proto().mark().op('i').bytes();
    Path file = torchZip(dir.resolve("inst.bin"), "archive", concat(pkl, "os\nsystem\n.".getBytes()), Map.of());
    assertThatThrownBy(() -> TorchBin.load(file)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining("inst.bin").hasMessageContaining("refusing pickle opcode 0x69 ('i')");
  }

  @Test
  void refusesAViewOutsideItsStorage() throws IOException {
    // 3 x 4 floats claimed over a storage of 6: as_strided would read past the buffer
    byte[] pkl = Pickle.singleTensorDict("w", "0", 6, 0, new long[] {3, 4}, new long[] {4, 1});
    Path file = torchZip(dir.resolve("oob.bin"), "archive", pkl, Map.of("0", f32(1, 2, 3, 4, 5, 6)));
    assertThatThrownBy(() -> TorchBin.load(file)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining("oob.bin").hasMessageContaining("tensor 'w'")
        .hasMessageContaining("lies outside its storage '0' of 6 elements");
  }

  @Test
  void refusesAStorageEntryOfTheWrongSize() throws IOException {
    byte[] pkl = Pickle.singleTensorDict("w", "0", 4, 0, new long[] {4}, new long[] {1});
    Path file = torchZip(dir.resolve("short.bin"), "archive", pkl, Map.of("0", f32(1, 2, 3)));
    assertThatThrownBy(() -> TorchBin.load(file)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining("storage entry archive/data/0 holds 12 bytes but F32 x 4 needs 16");
    Path missing = torchZip(dir.resolve("missing.bin"), "archive", pkl, Map.of());
    assertThatThrownBy(() -> TorchBin.load(missing)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining("storage entry archive/data/0 is missing");
  }

  @Test
  void refusesAStorageLargerThanTheArchiveCanHoldBeforeAllocatingIt() throws IOException {
    // 1e9 floats declared by the pickle and by the zip directory, 16 bytes present: the 4 GB storage was allocated
    // (and with a larger zip64 size torch's allocator failed with its own exception) before the read found the end
    byte[] pkl = Pickle.singleTensorDict("w", "0", 1_000_000_000, 0, new long[] {1_000_000_000}, new long[] {1});
    Path file = torchZip(dir.resolve("declared.bin"), "archive", pkl, Map.of("0", f32(1, 2, 3, 4)));
    byte[] zip = Files.readAllBytes(file);
    byte[] name = "archive/data/0".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(zip).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i + 46 < zip.length; i++) {       // the central directory entry of data/0: its uncompressed size
      if (b.getInt(i) == 0x02014b50 && b.getShort(i + 28) == name.length
          && java.util.Arrays.equals(zip, i + 46, i + 46 + name.length, name, 0, name.length)) {
        b.putInt(i + 24, (int) 4_000_000_000L);
      }
    }
    Files.write(file, zip);
    assertThatThrownBy(() -> TorchBin.load(file)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining("declared.bin").hasMessageContaining("storage entry archive/data/0 declares 4000000000 bytes");
  }

  @Test
  void readsAHandWrittenArchiveWithAnOffsetView() throws IOException {
    byte[] pkl = Pickle.singleTensorDict("w", "0", 6, 2, new long[] {2, 2}, new long[] {1, 2});
    Path file = torchZip(dir.resolve("ok.bin"), "x", pkl, Map.of("0", f32(0, 1, 2, 3, 4, 5)));
    // elements at 2 + i*1 + j*2: [[2, 4], [3, 5]]
    assertThat(Tensors.toFloats(TorchBin.load(file).get("w"))).containsExactly(2, 4, 3, 5);
  }

  @Test
  void refusesARootThatIsNotADictOfTensors() throws IOException {
    byte[] pkl = new Pickle().proto().op('}').str("epoch").integer(3).op('s', '.').bytes();
    Path file = torchZip(dir.resolve("ckpt.bin"), "archive", pkl, Map.of());
    assertThatThrownBy(() -> TorchBin.load(file)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining("ckpt.bin").hasMessageContaining("entry 'epoch' is not a tensor");
  }

  @Test
  void refusesACorruptedZip() throws IOException {
    byte[] b = Files.readAllBytes(weights("ordereddict_root.bin"));
    byte[] garbage = b.clone();
    for (int i = b.length - 200; i < b.length; i++) garbage[i] = (byte) 0x5a; // wipe the central directory
    Path file = dir.resolve("garbled.bin");
    Files.write(file, garbage);
    assertThatThrownBy(() -> TorchBin.load(file)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining("garbled.bin").hasMessageContaining("corrupted or truncated zip archive");
    Path notZip = dir.resolve("text.bin");
    Files.writeString(notZip, "hello world");
    assertThatThrownBy(() -> TorchBin.load(notZip)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining("text.bin").hasMessageContaining("not a torch.save zip archive");
  }

  @Test
  void refusesATruncatedBin() throws IOException {
    byte[] b = Files.readAllBytes(weights("ordereddict_root.bin"));
    for (int len : new int[] {b.length / 2, b.length - 30, 3, 0}) {
      Path file = dir.resolve("cut" + len + ".bin");
      Files.write(file, Arrays.copyOf(b, len));
      assertThatThrownBy(() -> TorchBin.load(file)).as("cut at %d of %d", len, b.length)
          .isInstanceOf(CheckpointException.class).hasMessageContaining(file.toString());
    }
  }

  @Test
  void refusesATruncatedPickle() throws IOException {
    byte[] good = Pickle.singleTensorDict("w", "0", 2, 0, new long[] {2}, new long[] {1});
    Path file = torchZip(dir.resolve("p.bin"), "archive", Arrays.copyOf(good, good.length - 3), Map.of("0", f32(1, 2)));
    assertThatThrownBy(() -> TorchBin.load(file)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining("p.bin").hasMessageContaining("pickle ends without STOP");
  }

  @Test
  void refusesTheLegacyNonZipFormatWithAClearMessage() throws IOException {
    Path file = dir.resolve("legacy.bin");
    Files.write(file, new byte[] {(byte) 0x80, 2, (byte) 0x8a, 10, 0x6c, (byte) 0xfc});
    assertThatThrownBy(() -> TorchBin.load(file)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining("legacy (pre-1.6, non-zip) torch.save format");
  }

  @Test
  void loadedTensorsAreFreedWithTheCallersScope() {
    Path file = weights("ordereddict_root.bin");
    System.gc();
    long before = Pointer.totalCount();
    for (int i = 0; i < 5; i++) {
      try (PointerScope scope = new PointerScope()) {
        Map<String, Tensor> t = TorchBin.load(file);
        assertThat(t.get("conv.weight").requires_grad()).isFalse();
      }
      assertThat(Pointer.totalCount()).as("native objects alive after scope " + i).isLessThanOrEqualTo(before);
    }
  }

  @Test
  void loadsTheTinyNormalsCheckpointWithTheKeysAndShapesOfItsSafetensorsTwin() {
    // tiny-marigold-normals (.bin) and tiny-marigold-depth (.safetensors) share one architecture and config
    Path ck = Golden.fixtures().resolve("checkpoints");
    for (String[] f : new String[][] {
        {"unet/diffusion_pytorch_model.bin", "unet/diffusion_pytorch_model.safetensors"},
        {"vae/diffusion_pytorch_model.bin", "vae/diffusion_pytorch_model.safetensors"},
        {"text_encoder/pytorch_model.bin", "text_encoder/model.safetensors"}}) {
      Map<String, Tensor> bin = TorchBin.load(ck.resolve("tiny-marigold-normals").resolve(f[0]));
      SafeTensors.Header twin = SafeTensors.readHeader(ck.resolve("tiny-marigold-depth").resolve(f[1]));
      assertThat(bin.keySet()).as(f[0]).containsExactlyInAnyOrderElementsOf(twin.entries().keySet());
      twin.entries().forEach((k, e) -> {
        assertThat(Tensors.shape(bin.get(k))).as(k).isEqualTo(e.shape());
        assertThat(Tensors.dtype(bin.get(k))).as(k).isEqualTo(e.dtype().torchType());
      });
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

}
