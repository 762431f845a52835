package marigold4j.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads the float32 payload of a C-order {@code .npy} file (format 1.0), enough for test stand-ins. */
final class NpyTesting {
  private NpyTesting() {}

  static float[] readFloat32(Path file) {
    try {
      byte[] b = Files.readAllBytes(file);
      ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
      int start = 10 + (buf.getShort(8) & 0xffff);
      float[] out = new float[(b.length - start) / 4];
      buf.position(start);
      buf.slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
