package marigold4j.weights;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;

/**
 * Moves raw bytes between files and the memory of contiguous CPU tensors through direct-buffer windows of at most
 * {@link #CHUNK} bytes, so single tensors above 2 GiB (the limit of one Java buffer) are handled as well.
 */
final class NativeBytes {
  /** Largest window onto native memory handed to NIO at once. */
  static final int CHUNK = 1 << 30;

  private NativeBytes() {}

  /** Both checkpoint formats store little-endian data and torch keeps native order: they must agree. */
  static void requireLittleEndianHost() {
    if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
      throw new UnsupportedOperationException("checkpoint files are little-endian; this host is big-endian");
    }
  }

  /** A direct buffer over bytes {@code [offset, offset + length)} of {@code t}'s memory, valid while t lives. */
  static ByteBuffer window(Tensor t, long offset, int length) {
    // a pointer starting at the offset: asByteBuffer() spans [0, limit) of its pointer, so offsets beyond 2 GiB
    // must go into the address, not into position/limit
    BytePointer p = new BytePointer(t.data_ptr()).getPointer(offset);
    p.position(0).capacity(length);
    return p.asByteBuffer();
  }

  /** Fills the first {@code n} bytes of {@code dst} from the file, starting at {@code filePos}. */
  static void read(FileChannel ch, long filePos, Tensor dst, long n, int chunk) throws IOException {
    for (long done = 0; done < n; ) {
      int len = (int) Math.min(chunk, n - done);
      ByteBuffer w = window(dst, done, len);
      while (w.hasRemaining()) {
        int r = ch.read(w, filePos + done + w.position());
        if (r < 0) throw new EOFException("file ends inside a tensor");
      }
      done += len;
    }
  }

  /** Fills the first {@code n} bytes of {@code dst} from the stream; fails if the stream ends early. */
  static void read(InputStream in, Tensor dst, long n) throws IOException {
    ReadableByteChannel ch = Channels.newChannel(in);
    for (long done = 0; done < n; ) {
      int len = (int) Math.min(CHUNK, n - done);
      ByteBuffer w = window(dst, done, len);
      while (w.hasRemaining()) {
        if (ch.read(w) < 0) throw new EOFException("ends after " + (done + w.position()) + " of " + n + " bytes");
      }
      done += len;
    }
  }

  /** Writes all bytes of the contiguous CPU tensor {@code src}. */
  static void write(Tensor src, WritableByteChannel out, int chunk) throws IOException {
    long n = src.nbytes();
    for (long done = 0; done < n; ) {
      int len = (int) Math.min(chunk, n - done);
      ByteBuffer w = window(src, done, len);
      while (w.hasRemaining()) out.write(w);
      done += len;
    }
  }
}
