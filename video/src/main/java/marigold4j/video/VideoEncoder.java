package marigold4j.video;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import marigold4j.image.AtomicFiles;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.bytedeco.javacv.Frame;
import org.bytedeco.javacv.FrameRecorder;

/**
 * Writes RGB frames as an H.264 MP4 (OpenH264 through FFmpeg, yuv420p, {@code +faststart} so players and decoders
 * find the index at the front) at a given frame rate. The file appears atomically at {@link #close()}; until then it
 * is a temporary file beside it. yuv420p needs even sizes: an odd width or height is padded by one replicated
 * column or row.
 *
 * <p>Use it outside any {@code PointerScope}: the recorder keeps native buffers across frames.
 */
public final class VideoEncoder implements AutoCloseable {
  static {
    FfmpegLog.quiet();
  }

  private final Path target;
  private final Path tmp;
  private final int width;
  private final int height;
  private final int encodedWidth;
  private final int encodedHeight;
  private final FFmpegFrameRecorder recorder;
  private final Frame frame;
  private int frames;
  private boolean closed;

  /**
   * @param fps frames per second, kept as the rational FFmpeg picks for it (29.97 = 30000/1001)
   * @throws UncheckedIOException naming the file when it cannot be created
   */
  public VideoEncoder(Path target, int width, int height, double fps) {
    if (width <= 0 || height <= 0) throw new IllegalArgumentException("empty frame size " + width + "x" + height);
    if (!(fps > 0) || Double.isInfinite(fps)) throw new IllegalArgumentException("invalid frame rate " + fps);
    this.target = target.toAbsolutePath();
    this.width = width;
    this.height = height;
    this.encodedWidth = width + (width & 1);
    this.encodedHeight = height + (height & 1);
    try {
      Files.createDirectories(this.target.getParent());
      tmp = AtomicFiles.newTempFile(this.target.getParent(), "." + this.target.getFileName() + ".");
    } catch (IOException e) {
      throw new UncheckedIOException(target + ": cannot create the video: " + e.getMessage(), e);
    }
    FFmpegFrameRecorder r = new FFmpegFrameRecorder(tmp.toFile(), encodedWidth, encodedHeight, 0);
    r.setFormat("mp4");
    r.setVideoCodec(avcodec.AV_CODEC_ID_H264);
    r.setPixelFormat(avutil.AV_PIX_FMT_YUV420P);
    r.setFrameRate(fps);
    r.setGopSize((int) Math.max(1, Math.round(fps)));
    // about 4 bits per pixel-second at 30 fps: visualisations have large flat areas, this keeps their edges clean
    r.setVideoBitrate((int) Math.min(Integer.MAX_VALUE, Math.max(1_000_000L, (long) encodedWidth * encodedHeight * 4)));
    r.setOption("movflags", "+faststart");
    try {
      r.start();
    } catch (FrameRecorder.Exception | RuntimeException e) {
      release(r);
      deleteQuietly(tmp);
      throw new UncheckedIOException(target + ": cannot start the H.264 encoder: " + e.getMessage(),
          new IOException(e));
    }
    recorder = r;
    frame = new Frame(encodedWidth, encodedHeight, Frame.DEPTH_UBYTE, 3);
  }

  /** Appends one frame: interleaved RGB bytes (H, W, 3) of the size given at construction. */
  public void write(byte[] rgb) {
    if (rgb.length != width * height * 3) {
      throw new IllegalArgumentException(rgb.length + " bytes for a " + width + "x" + height + " RGB frame");
    }
    ByteBuffer buf = (ByteBuffer) frame.image[0];
    int stride = frame.imageStride;
    int row = width * 3;
    for (int y = 0; y < encodedHeight; y++) {
      int src = Math.min(y, height - 1) * row;                 // an odd height repeats the last row
      buf.put(y * stride, rgb, src, row);
      if (encodedWidth != width) buf.put(y * stride + row, rgb, src + row - 3, 3);
    }
    try {
      recorder.record(frame, avutil.AV_PIX_FMT_RGB24);
    } catch (FrameRecorder.Exception e) {
      throw new UncheckedIOException(target + ": encoding frame " + frames + " failed: " + e.getMessage(),
          new IOException(e));
    }
    frames++;
  }

  /** Frames written so far. */
  public int frames() {
    return frames;
  }

  /** Finishes the file and moves it into place; with no frame written, nothing is left behind. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    try {
      recorder.stop();
    } catch (FrameRecorder.Exception e) {
      release(recorder);
      deleteQuietly(tmp);
      throw new UncheckedIOException(target + ": finishing the video failed: " + e.getMessage(), new IOException(e));
    }
    release(recorder);
    frame.close();
    if (frames == 0) {
      deleteQuietly(tmp);
      return;
    }
    try {
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      deleteQuietly(tmp);
      throw new UncheckedIOException(target + ": " + e.getMessage(), e);
    }
  }

  private static void release(FFmpegFrameRecorder r) {
    try {
      r.release();
    } catch (FrameRecorder.Exception | RuntimeException e) {
      // the file is discarded or already finished
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      // a stray temporary file is all that is left
    }
  }
}
