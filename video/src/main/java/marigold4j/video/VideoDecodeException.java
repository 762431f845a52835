package marigold4j.video;

/**
 * A clip could not be decoded past a frame: a corrupt or truncated file. The frames before {@link #frame()} were
 * delivered; the message names the file and the frame.
 */
public final class VideoDecodeException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final int frame;

  public VideoDecodeException(String message, int frame, Throwable cause) {
    super(message, cause);
    this.frame = frame;
  }

  /** The 0-based index of the first frame that could not be decoded (= the number of frames decoded). */
  public int frame() {
    return frame;
  }
}
