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

  /** The file that failed. */
  public Path file() {
    return file;
  }
}
