package marigold4j.video;

import marigold4j.image.PilImage;

/** The frames of one clip, in order: a video file ({@link VideoFileSource}) or a folder of images. */
public interface FrameSource extends AutoCloseable {
  /** The clip's name: the base of its output file names. */
  String name();

  /** Frames per second (of the container, or as given for a folder of images). */
  double fps();

  /** The number of frames the clip declares (a container's own count, an estimate for some), or -1 if unknown. */
  int declaredFrames();

  /**
   * The next frame as RGB, or null after the last.
   *
   * @throws VideoDecodeException when the clip is corrupt or ends early (the frames before it were delivered)
   */
  PilImage next();

  @Override
  void close();
}
