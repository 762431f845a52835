package marigold4j.weights;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import java.util.Map;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.fuzz.Invariants;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Timeout;

/**
 * {@code torch.save} zip archives ({@link TorchBin#load}) and, inside them, the pickle ({@link RestrictedUnpickler}):
 * any bytes give a state dict or a {@link CheckpointException} naming the file; no global outside the allow-list is
 * ever resolved (the unpickler builds no Python object). Storage memory is allocated in torch (not the Java heap),
 * so the target checks the native bytes allocated against the file's size: a storage larger than the file is read
 * from a compressed entry, which must not be sized from the zip's declared size.
 */
class TorchBinFuzzTest {
  @FuzzTest
  @Timeout(10)
  void load(byte[] data) {
    Path file = Invariants.inputFile("torchbin", "pytorch_model.bin", data);
    Invariants.check(file.getParent(), file.toString(), () -> {
      Map<String, Tensor> sd = TorchBin.load(file);
      long bytes = 0;
      for (Tensor t : sd.values()) {
        bytes += t.nbytes();
        t.close();
      }
      // deflate expands at most 1032:1; anything larger was allocated from a declared size
      if (bytes > 1032L * data.length + 4096) throw new AssertionError(bytes + " tensor bytes from a " + data.length + "-byte file");
    }, CheckpointException.class);
  }

  /** The pickle alone, without the zip around it: the unpickler's opcodes, memo, stack and allow-list. */
  @FuzzTest
  @Timeout(10)
  void unpickle(byte[] data) {
    Path file = Path.of("data.pkl");
    Invariants.check(null, "data.pkl", () -> RestrictedUnpickler.load(file, data), CheckpointException.class);
  }
}
