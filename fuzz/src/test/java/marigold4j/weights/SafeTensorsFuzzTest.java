package marigold4j.weights;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.fuzz.Invariants;
import org.junit.jupiter.api.Timeout;

/**
 * The safetensors header and byte ranges ({@link SafeTensors#readHeader}): any bytes either give a header whose
 * entries lie inside the file, disjoint and sized by dtype x shape, or a {@link CheckpointException} naming the file.
 * Only the header is read (no torch): the data section is never allocated from what the header declares.
 */
class SafeTensorsFuzzTest {
  @FuzzTest
  @Timeout(10)
  void readHeader(byte[] data) {
    Path file = Invariants.inputFile("safetensors", "model.safetensors", data);
    Invariants.check(file.getParent(), file.toString(), () -> {
      SafeTensors.Header h = SafeTensors.readHeader(file);
      long dataLen = data.length - h.dataStart();
      for (SafeTensors.Entry e : h.entries().values()) {
        if (e.begin() < 0 || e.end() < e.begin() || e.end() > dataLen) {
          throw new AssertionError("entry " + e.name() + " outside the data: [" + e.begin() + ", " + e.end() + ")");
        }
        if (e.end() - e.begin() != e.numel() * e.dtype().bytes()) throw new AssertionError("size mismatch " + e.name());
      }
    }, CheckpointException.class);
  }
}
