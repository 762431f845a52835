package marigold4j.image;

import com.code_intelligence.jazzer.junit.FuzzTest;
import marigold4j.fuzz.Invariants;
import org.junit.jupiter.api.Timeout;

/**
 * Image input as PIL opens it ({@link ImageInput#read(byte[], String)}, the path uploads take; files go through the
 * same decoder): PNG (8 and 16 bit, palette, grey, alpha) and JPEG. Any bytes give an image whose pixel buffer
 * matches its size and mode, or an {@link ImageReadException} naming the input. The decoders size their rasters
 * from the header, so the fuzz heap (512 MB) also checks that a header declaring a huge image is refused before
 * decoding.
 */
class ImageInputFuzzTest {
  @FuzzTest
  @Timeout(10)
  void read(byte[] data) {
    Invariants.check(null, "upload.png", () -> {
      PilImage im = ImageInput.read(data, "upload.png");
      long expected = (long) im.width() * im.height() * im.mode().bands();
      if (im.width() <= 0 || im.height() <= 0) throw new AssertionError("empty image " + im.width() + "x" + im.height());
      if (im.pixels().length < expected) throw new AssertionError("pixels " + im.pixels().length + " < " + expected);
      im.rgbPixels();
    }, ImageReadException.class);
  }
}
