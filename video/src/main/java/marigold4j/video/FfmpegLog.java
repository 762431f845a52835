package marigold4j.video;

import org.bytedeco.ffmpeg.global.avutil;

/**
 * FFmpeg's own logging, set once: fatal messages only. FFmpeg would otherwise print each damaged packet, the
 * container layout of every file it writes and OpenH264's notes to stderr; the decoding and encoding errors that
 * matter reach the caller as exceptions naming the file and frame.
 */
final class FfmpegLog {
  static {
    avutil.av_log_set_level(avutil.AV_LOG_FATAL);
  }

  private FfmpegLog() {}

  /** Loads this class (its static initialiser sets the level). */
  static void quiet() {}
}
