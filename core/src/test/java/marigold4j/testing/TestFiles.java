package marigold4j.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** File helpers for tests that modify copies of the fixtures. */
public final class TestFiles {
  private TestFiles() {}

  /** Copies a folder tree (the copies are writable). */
  public static void copyTree(Path from, Path to) throws IOException {
    try (var s = Files.walk(from)) {
      for (Path p : s.toList()) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) Files.createDirectories(t);
        else Files.copy(p, t);
      }
    }
  }
}
