package marigold4j.image;

import com.code_intelligence.jazzer.junit.FuzzTest;
import marigold4j.fuzz.Invariants;
import org.junit.jupiter.api.Timeout;

/**
 * {@code .npy} arrays ({@link Npy#parse}): any bytes give an array whose data is exactly dtype x shape bytes taken
 * from the input, or an {@link IllegalArgumentException} naming the origin (the documented exception of
 * {@link Npy#read}).
 */
class NpyFuzzTest {
  @FuzzTest
  @Timeout(10)
  void parse(byte[] data) {
    Invariants.check(null, "fuzz.npy", () -> {
      Npy.Array a = Npy.parse(data, "fuzz.npy");
      long n = 1;
      for (long d : a.shape()) n *= d;
      if (a.data().length != n * a.dtype().bytes()) throw new AssertionError("data size " + a.data().length);
      if (a.data().length > data.length) throw new AssertionError("more data than input");
    }, IllegalArgumentException.class);
  }
}
