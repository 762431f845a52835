package marigold4j.eval.normals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import marigold4j.fuzz.Invariants;
import org.junit.jupiter.api.Timeout;

/**
 * OASIS normal pickles ({@link OasisNormalPickle#read}: a dict with the ROI bounds and a numpy array): any bytes give
 * an ROI whose normals match its bounds, or an {@link IllegalArgumentException} naming the file.
 */
class OasisPickleFuzzTest {
  @FuzzTest
  @Timeout(10)
  void read(byte[] data) {
    Path file = Invariants.inputFile("oasis", "normal.pkl", data);
    Invariants.check(file.getParent(), file.toString(), () -> OasisNormalPickle.read(file), IllegalArgumentException.class);
  }
}
