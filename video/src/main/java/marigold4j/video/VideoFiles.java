package marigold4j.video;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Which inputs are video files. */
public final class VideoFiles {
  /** The containers {@code predict} takes as clips (decoded by FFmpeg; case-insensitive). */
  public static final List<String> EXTENSIONS = List.of(".mp4", ".mov", ".mkv", ".avi", ".webm");

  private VideoFiles() {}

  /** Whether the file name ends with one of {@link #EXTENSIONS}. */
  public static boolean isVideo(Path p) {
    Path name = p.getFileName();
    if (name == null) return false;
    String n = name.toString().toLowerCase(Locale.ROOT);
    return EXTENSIONS.stream().anyMatch(n::endsWith);
  }
}
