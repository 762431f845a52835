package marigold4j.eval.normals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;
import marigold4j.fuzz.Invariants;
import org.junit.jupiter.api.Timeout;

/**
 * OpenEXR scanline images ({@link OpenExr#read}, DIODE / iBims normals): any bytes give an image whose channels
 * hold width x height floats, or an {@link IllegalArgumentException} naming the file.
 */
class OpenExrFuzzTest {
  @FuzzTest
  @Timeout(10)
  void read(byte[] data) {
    Path file = Invariants.inputFile("exr", "normal.exr", data);
    Invariants.check(file.getParent(), file.toString(), () -> {
      OpenExr.Image im = OpenExr.read(file);
      for (float[] c : im.channels().values()) {
        if (c.length != (long) im.width() * im.height()) throw new AssertionError("channel of " + c.length);
      }
    }, IllegalArgumentException.class);
  }
}
