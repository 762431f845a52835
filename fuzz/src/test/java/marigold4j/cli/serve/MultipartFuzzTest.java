package marigold4j.cli.serve;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.Map;
import marigold4j.fuzz.Invariants;
import org.junit.jupiter.api.Timeout;

/**
 * The demo server's {@code multipart/form-data} parser ({@link Multipart}): any Content-Type and body give the
 * form's parts, each a slice of the body, or an {@link HttpError} (400 / 415, which the server answers with).
 */
class MultipartFuzzTest {
  @FuzzTest
  @Timeout(10)
  void parse(byte[] data) {
    // the input: the Content-Type value, a line feed, then the body
    int lf = Multipart.indexOf(data, new byte[] {'\n'}, 0);
    String contentType = lf < 0 ? null : new String(data, 0, lf, java.nio.charset.StandardCharsets.ISO_8859_1);
    byte[] body = lf < 0 ? data : java.util.Arrays.copyOfRange(data, lf + 1, data.length);
    Invariants.check(null, () -> {
      String boundary = Multipart.boundary(contentType);
      Map<String, Multipart.Part> parts = Multipart.parse(body, boundary);
      long total = 0;
      for (Multipart.Part p : parts.values()) {
        if (p.name() == null) throw new AssertionError("part without a name");
        total += p.data().length;
      }
      if (total > body.length) throw new AssertionError("parts hold more than the body: " + total);
    }, HttpError.class);
  }
}
