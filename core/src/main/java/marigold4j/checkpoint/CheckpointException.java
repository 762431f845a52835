package marigold4j.checkpoint;

import java.nio.file.Path;

/**
 * A checkpoint (weights file, config, folder layout) that cannot be used. The message always names the file and
 * the problem, so the CLI can show it as is.
 */
public class CheckpointException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CheckpointException(String message) {
    super(message);
  }

  public CheckpointException(String message, Throwable cause) {
    super(message, cause);
  }

  public CheckpointException(Path file, String problem) {
    super(file + ": " + problem);
  }

  public CheckpointException(Path file, String problem, Throwable cause) {
    super(file + ": " + problem, cause);
  }
}
