package marigold4j.eval.normals;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed OASIS pickles are refused with an {@link IllegalArgumentException} naming the file (the well-formed
 * fixtures are read through {@link DsineEvaluationTest}). Each case was found by OasisPickleFuzzTest.
 */
class OasisNormalPickleTest {
  @TempDir Path tmp;

  private Path pickle(String name, int... bytes) throws IOException {
    byte[] b = new byte[bytes.length];
    for (int i = 0; i < b.length; i++) b[i] = (byte) bytes[i];
    return Files.write(tmp.resolve(name), b);
  }

  @Test
  void aStringLongerThanThePickleIsRefusedWithoutAllocatingIt() throws IOException {
    // BINUNICODE declaring 0xE0000000 bytes: copyOfRange threw "7 > -536870905" without the file's name (smaller
    // declared lengths allocated them: OutOfMemoryError)
    Path file = pickle("long.pkl", 0x80, 2, 'X', 0, 0, 0, 0xE0);
    assertThatThrownBy(() -> OasisNormalPickle.read(file)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("long.pkl").hasMessageContaining("not an OASIS normal pickle");
  }

  @Test
  void aMemoEntryReadBeforeItIsWrittenIsRefused() throws IOException {
    // BINGET 5 with an empty memo pushed null onto the stack: NullPointerException
    Path file = pickle("memo.pkl", 0x80, 2, 'h', 5, '.');
    assertThatThrownBy(() -> OasisNormalPickle.read(file)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("memo.pkl").hasMessageContaining("memo entry 5");
  }

  @Test
  void boundsOutsideIntAndAnArrayWithoutDataAreRefused() throws IOException {
    // {'min_y': 2**40, ...}: Math.toIntExact threw ArithmeticException
    Path big = pickle("big.pkl", 0x80, 2, '}', '(', 'U', 5, 'm', 'i', 'n', '_', 'y',
        0x8a, 6, 0, 0, 0, 0, 0, 1, 'u', '.');
    assertThatThrownBy(() -> OasisNormalPickle.read(big)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("big.pkl").hasMessageContaining("'min_y' is missing or not an integer");
  }
}
