package marigold4j.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import marigold4j.checkpoint.CheckpointException;

/** Turns a {@code --checkpoint} argument into a local checkpoint folder. */
final class CheckpointArgument {
  private CheckpointArgument() {}

  static Path resolve(String idOrDir) {
    Path p = Path.of(idOrDir);
    if (Files.isDirectory(p)) return p;
    throw new CheckpointException(idOrDir + ": no such checkpoint folder");
  }
}
