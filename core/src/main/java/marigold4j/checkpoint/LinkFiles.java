package marigold4j.checkpoint;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Symbolic links stored as plain files. Checkpoints that share components (the Marigold v1.1 / IID releases all carry
 * Stable Diffusion 2's VAE and text encoder) are often published with symbolic links; where a copy or a checkout
 * could not create links (git with {@code core.symlinks=false}, some archive tools, Windows), each link becomes a small
 * file holding the relative path of its target. {@link #resolve} follows such a file, so loading works either way.
 * Real symbolic links need nothing: the file system follows them.
 */
public final class LinkFiles {
  /** Link files hold one path: anything longer is a real file. */
  private static final long MAX_LINK_BYTES = 1024;

  private LinkFiles() {}

  /**
   * The file {@code file} stands for: itself, or, when it is a link stored as a file (a short single-line relative
   * path, no NUL bytes, naming an existing regular file), its target (followed again, at most 8 times).
   */
  public static Path resolve(Path file) {
    Path current = file;
    for (int hop = 0; hop < 8; hop++) {
      Path target = linkTarget(current);
      if (target == null) return current;
      current = target;
    }
    throw new CheckpointException(file, "more than 8 link files in a row (a cycle?)");
  }

  private static Path linkTarget(Path file) {
    try {
      if (!Files.isRegularFile(file) || Files.size(file) > MAX_LINK_BYTES || Files.size(file) == 0) return null;
      byte[] bytes = Files.readAllBytes(file);
      for (byte b : bytes) if (b == 0 || b == '\n' || b == '\r') return null;
      String text = new String(bytes, StandardCharsets.UTF_8).strip();
      if (!(text.startsWith("../") || text.startsWith("./")) || text.startsWith("/")) return null;
      Path parent = file.toAbsolutePath().getParent();
      Path target = parent.resolve(text).normalize();
      return Files.isRegularFile(target) ? target : null;
    } catch (IOException | java.nio.file.InvalidPathException e) {
      return null;
    }
  }
}
