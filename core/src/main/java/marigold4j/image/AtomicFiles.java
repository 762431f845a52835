package marigold4j.image;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes files so that readers never see a partial file: the content goes to a temporary file in the target's own
 * folder (same file system, so the rename is atomic), which then replaces the target.
 */
public final class AtomicFiles {
  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

  private AtomicFiles() {}

  /** Something that writes a file's content to a stream. */
  @FunctionalInterface
  public interface Writer {
    void write(OutputStream out) throws IOException;
  }

  /**
   * Creates a new, empty, uniquely named file {@code <prefix><random>.tmp} in {@code dir} with the permissions the
   * user's umask gives any new file ({@link Files#createTempFile} would make it 0600, and the rename would hand the
   * output that mode).
   */
  public static Path newTempFile(Path dir, String prefix) throws IOException {
    return createUnique(dir, prefix, Files::createFile);
  }

  /** As {@link #newTempFile}, a folder (the umask's permissions, not {@link Files#createTempDirectory}'s 0700). */
  public static Path newTempDirectory(Path dir, String prefix) throws IOException {
    return createUnique(dir, prefix, Files::createDirectory);
  }

  /** Something that creates a file system entry and fails if it exists. */
  @FunctionalInterface
  private interface Creator {
    Path create(Path p, java.nio.file.attribute.FileAttribute<?>... attributes) throws IOException;
  }

  private static Path createUnique(Path dir, String prefix, Creator creator) throws IOException {
    for (int attempt = 0; ; attempt++) {
      Path p = dir.resolve(prefix + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".tmp");
      try {
        return creator.create(p);
      } catch (FileAlreadyExistsException e) {
        if (attempt > 100) throw e;
      }
    }
  }

  /**
   * Writes {@code target} atomically, creating missing parent folders.
   *
   * @throws UncheckedIOException naming the target when anything fails (the temporary file is removed)
   */
  public static void write(Path target, Writer writer) {
    Path abs = target.toAbsolutePath();
    Path dir = abs.getParent();
    Path tmp = null;
    try {
      Files.createDirectories(dir);
      tmp = newTempFile(dir, "." + abs.getFileName() + ".");
      try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.WRITE)) {
        writer.write(out);
      }
      try {
        Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
      }
      tmp = null;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // the original failure is the one worth reporting
        }
      }
    }
  }
}
