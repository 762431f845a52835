package marigold4j.geometry;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Little-endian values streamed to an output through a fixed 64 KiB buffer (memory independent of the file). */
final class LittleEndianSink {
  private final OutputStream out;
  private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
  private long written;

  LittleEndianSink(OutputStream out) {
    this.out = out;
  }

  private void room(int n) throws IOException {
    if (buf.remaining() < n) flushBuffer();
  }

  LittleEndianSink f32(float v) throws IOException {
    room(4);
    buf.putFloat(v);
    return this;
  }

  LittleEndianSink i32(int v) throws IOException {
    room(4);
    buf.putInt(v);
    return this;
  }

  LittleEndianSink u8(int v) throws IOException {
    room(1);
    buf.put((byte) v);
    return this;
  }

  LittleEndianSink bytes(byte[] b) throws IOException {
    flushBuffer();
    out.write(b);
    written += b.length;
    return this;
  }

  /** Bytes passed on so far (after {@link #flush}: all of them). */
  long written() {
    return written + buf.position();
  }

  private void flushBuffer() throws IOException {
    out.write(buf.array(), 0, buf.position());
    written += buf.position();
    buf.clear();
  }

  void flush() throws IOException {
    flushBuffer();
    out.flush();
  }
}
