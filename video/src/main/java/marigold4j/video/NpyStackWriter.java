package marigold4j.video;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import marigold4j.image.AtomicFiles;
import marigold4j.image.Npy;

/**
 * A float32 {@code .npy} stack (T, ...frame shape) written one frame at a time, so a clip of any length needs one
 * frame in memory: the header is written with T = 0 and rewritten with the final count at {@link #close()} (numpy's
 * header keeps room for the first axis to grow in place, so its length does not change). The file appears atomically
 * at {@link #close()}; with no frame nothing is left behind.
 */
public final class NpyStackWriter implements AutoCloseable {
  private final Path target;
  private final Path tmp;
  private final long[] frameShape;
  private final int frameValues;
  private final FileChannel channel;
  private final int headerLength;
  private int frames;
  private boolean closed;

  public NpyStackWriter(Path target, long... frameShape) {
    this.target = target.toAbsolutePath();
    this.frameShape = frameShape.clone();
    long n = 1;
    for (long d : frameShape) n *= d;
    this.frameValues = Math.toIntExact(n);
    try {
      Files.createDirectories(this.target.getParent());
      tmp = AtomicFiles.newTempFile(this.target.getParent(), "." + this.target.getFileName() + ".");
      channel = FileChannel.open(tmp, StandardOpenOption.READ, StandardOpenOption.WRITE);
      byte[] header = Npy.header(Npy.DType.F4, shape(0));
      headerLength = header.length;
      writeFully(ByteBuffer.wrap(header), 0);
    } catch (IOException e) {
      throw new UncheckedIOException(target + ": cannot write: " + e.getMessage(), e);
    }
  }

  private long[] shape(int t) {
    long[] s = new long[frameShape.length + 1];
    s[0] = t;
    System.arraycopy(frameShape, 0, s, 1, frameShape.length);
    return s;
  }

  /** Appends one frame: {@code values} in C order of the frame shape. */
  public void append(float[] values) {
    if (values.length != frameValues) {
      throw new IllegalArgumentException(values.length + " values for a frame of " + frameValues);
    }
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    try {
      writeFully(b, headerLength + (long) frames * frameValues * 4);
    } catch (IOException e) {
      throw new UncheckedIOException(target + ": cannot write frame " + frames + ": " + e.getMessage(), e);
    }
    frames++;
  }

  /** Frame {@code t} as written (for a second pass over the clip), read back from the file. */
  public float[] read(int t) {
    if (t < 0 || t >= frames) throw new IndexOutOfBoundsException("frame " + t + " of " + frames);
    ByteBuffer b = ByteBuffer.allocate(frameValues * 4).order(ByteOrder.LITTLE_ENDIAN);
    try {
      long pos = headerLength + (long) t * frameValues * 4;
      while (b.hasRemaining()) {
        int r = channel.read(b, pos + b.position());
        if (r < 0) throw new IOException("unexpected end of file");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(target + ": cannot read frame " + t + " back: " + e.getMessage(), e);
    }
    b.flip();
    float[] out = new float[frameValues];
    b.asFloatBuffer().get(out);
    return out;
  }

  public int frames() {
    return frames;
  }

  private void writeFully(ByteBuffer b, long pos) throws IOException {
    while (b.hasRemaining()) pos += channel.write(b, pos);
  }

  /** Rewrites the header with the frame count and moves the file into place. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    try {
      if (frames == 0) {
        channel.close();
        Files.deleteIfExists(tmp);
        return;
      }
      byte[] header = Npy.header(Npy.DType.F4, shape(frames));
      if (header.length != headerLength) throw new IllegalStateException("npy header grew with the frame count");
      writeFully(ByteBuffer.wrap(header), 0);
      channel.close();
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      try {
        channel.close();
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // a stray temporary file is all that is left
      }
      throw new UncheckedIOException(target + ": " + e.getMessage(), e);
    }
  }
}
