package marigold4j.video;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import marigold4j.image.PilImage;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameGrabber;
import org.bytedeco.javacv.Frame;
import org.bytedeco.javacv.FrameGrabber;

/**
 * The video frames of a file, decoded by FFmpeg (JavaCV's {@link FFmpegFrameGrabber}; FFmpeg's libraries come from
 * the {@code org.bytedeco:ffmpeg} natives, no {@code ffmpeg} program is needed) and converted to RGB24 by swscale.
 * Audio and subtitle streams are ignored; a rotation tag is not applied.
 *
 * <p>A file that cannot be opened fails at frame 0. A decoding error, or a clip that ends before the frame count its
 * container declares (a truncated download), is a {@link VideoDecodeException} naming the frame it stopped at; the
 * frames before it have been delivered.
 *
 * <p>Open and read it outside any {@code PointerScope}: the grabber keeps native buffers from one frame to the next.
 */
public final class VideoFileSource implements FrameSource {
  static {
    FfmpegLog.quiet();
  }

  private final Path file;
  private final FFmpegFrameGrabber grabber;
  private final int width;
  private final int height;
  private final double fps;
  private final int declared;
  private final long durationMicros;
  private long lastTimestamp = -1;
  private int next;
  private boolean ended;

  /** @throws IllegalArgumentException when the file is missing, not a video, or has no video stream */
  public VideoFileSource(Path file) {
    if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": no such file");
    this.file = file;
    FFmpegFrameGrabber g = new FFmpegFrameGrabber(file.toFile());
    g.setPixelFormat(avutil.AV_PIX_FMT_RGB24);
    try {
      g.start();
    } catch (FrameGrabber.Exception | RuntimeException e) {
      closeQuietly(g);
      throw new VideoDecodeException(file + ": cannot open the video (stopped at frame 0): " + firstLine(e), 0, e);
    }
    if (!g.hasVideo() || g.getImageWidth() <= 0 || g.getImageHeight() <= 0) {
      closeQuietly(g);
      throw new IllegalArgumentException(file + ": no video stream");
    }
    grabber = g;
    width = g.getImageWidth();
    height = g.getImageHeight();
    double rate = g.getVideoFrameRate();
    fps = rate > 0 && Double.isFinite(rate) ? rate : g.getFrameRate();
    int n = g.getLengthInVideoFrames();
    declared = n > 0 && n < Integer.MAX_VALUE ? n : -1;
    durationMicros = g.getLengthInTime();
  }

  @Override
  public String name() {
    String n = file.getFileName().toString();
    int dot = n.lastIndexOf('.');
    return (dot > 0 ? n.substring(0, dot) : n).replaceAll("\\p{Cntrl}", "_");
  }

  @Override
  public double fps() {
    return fps;
  }

  @Override
  public int declaredFrames() {
    return declared;
  }

  /** Frame width in pixels. */
  public int width() {
    return width;
  }

  /** Frame height in pixels. */
  public int height() {
    return height;
  }

  @Override
  public PilImage next() {
    if (ended) return null;
    Frame f;
    try {
      f = grabber.grabImage();
    } catch (FrameGrabber.Exception | RuntimeException e) {
      ended = true;
      throw new VideoDecodeException(file + ": decoding stopped at frame " + next + ": " + firstLine(e), next, e);
    }
    if (f == null || f.image == null) {
      ended = true;
      // mp4 / mov / mkv declare their frame count: ending short of it means the file was cut off
      if (declared > 0 && next < declared && isTruncated()) {
        throw new VideoDecodeException(file + ": the video ends at frame " + next + " of the " + declared
            + " its header declares (truncated or corrupt file)", next, null);
      }
      return null;
    }
    ByteBuffer buf = (ByteBuffer) f.image[0];
    int stride = f.imageStride;                     // bytes per row, may exceed width * 3
    byte[] rgb = new byte[width * height * 3];      // (H, W, 3)
    int row = width * 3;
    for (int y = 0; y < height; y++) buf.get(y * stride, rgb, y * row, row);
    lastTimestamp = grabber.getTimestamp();
    next++;
    return new PilImage(PilImage.Mode.RGB, width, height, rgb);
  }

  /**
   * Whether a short clip is damage rather than an estimate. Some containers estimate the count from the duration and
   * the average rate (rounding up by a frame; more with a variable frame rate), so a clip is truncated only when it
   * ends more than one frame short of the count and its last frame's time is more than two frame intervals before the
   * container's duration.
   */
  private boolean isTruncated() {
    if (declared - next <= 1) return false;
    if (durationMicros <= 0 || lastTimestamp < 0 || !(fps > 0)) return true;
    return lastTimestamp < durationMicros - 2e6 / fps;
  }

  @Override
  public void close() {
    closeQuietly(grabber);
  }

  private static void closeQuietly(FFmpegFrameGrabber g) {
    try {
      g.release();
    } catch (FrameGrabber.Exception | RuntimeException e) {
      // nothing left to save
    }
  }

  private static String firstLine(Throwable e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
