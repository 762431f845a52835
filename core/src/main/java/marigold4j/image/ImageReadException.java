package marigold4j.image;

import java.nio.file.Path;

/** An image file that cannot be decoded: missing, not an image, unsupported or truncated. The message names it. */
public final class ImageReadException extends IllegalArgumentException {
  private final transient Path file;

  public ImageReadException(Path file, String reason) {
    super(file + ": " + reason);
    this.file = file;
  }

  public ImageReadException(Path file, String reason, Throwable cause) {
    super(file + ": " + reason, cause);
    this.file = file;
  }

  /**
   * Fails unless {@code file} is a regular file, saying what it is instead: missing, a folder, or a FIFO / device /
   * socket (which reading would block on or consume).
   */
  public static void requireRegularFile(Path file) {
    if (java.nio.file.Files.isRegularFile(file)) return;
    if (!java.nio.file.Files.exists(file)) throw new ImageReadException(file, "no such image file");
    if (java.nio.file.Files.isDirectory(file)) throw new ImageReadException(file, "a folder, not an image file");
    throw new ImageReadException(file, "not a regular file (a FIFO, device or socket), not read");
  }

  /** The file that failed. */
  public Path file() {
    return file;
  }
}
