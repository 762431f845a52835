package marigold4j.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import marigold4j.checkpoint.CheckpointException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Hugging Face cache layout, exactly as {@code huggingface_hub} writes it, so both share downloads:
 * <pre>
 * &lt;cache&gt;/models--{org}--{name}/blobs/{etag}                 file contents, named by ETag (LFS: sha256, else git sha1)
 *                                /blobs/{etag}.incomplete      a download in progress (resumable)
 *                                /refs/{revision}             the commit hash a branch or tag pointed to
 *                                /snapshots/{commit}/{path}   relative symlinks to ../../blobs/{etag}
 * &lt;cache&gt;/.locks/models--{org}--{name}/{etag}.lock          held while a blob is downloaded
 * </pre>
 */
final class HubCache {
  private static final Logger LOG = LoggerFactory.getLogger(HubCache.class);
  static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

  private final Path root;

  HubCache(Path root) {
    this.root = root;
  }

  Path root() {
    return root;
  }

  /** {@code models--org--name}, as {@code repo_folder_name} spells it. */
  static String folderName(String repoId) {
    return "models--" + repoId.replace("/", "--");
  }

  Path repoFolder(String repoId) {
    return root.resolve(folderName(repoId));
  }

  Path blob(String repoId, String etag) {
    return repoFolder(repoId).resolve("blobs").resolve(etag);
  }

  Path snapshot(String repoId, String commit) {
    return repoFolder(repoId).resolve("snapshots").resolve(commit);
  }

  Path lockFile(String repoId, String etag) {
    return root.resolve(".locks").resolve(folderName(repoId)).resolve(etag + ".lock");
  }

  /** The commit a revision resolves to: itself for a full commit hash, else what {@code refs/<revision>} holds. */
  Optional<String> commitOf(String repoId, String revision) {
    if (COMMIT.matcher(revision).matches()) return Optional.of(revision);
    Path ref = repoFolder(repoId).resolve("refs").resolve(revision);
    if (!Files.isRegularFile(ref)) return Optional.empty();
    try {
      // huggingface_hub writes the hash without a newline; a hand-edited file may have one
      String commit = Files.readString(ref, StandardCharsets.UTF_8).trim();
      return commit.isEmpty() ? Optional.empty() : Optional.of(commit);
    } catch (IOException e) {
      throw new CheckpointException(ref, "cannot read: " + e.getMessage(), e);
    }
  }

  /** Records that {@code revision} points at {@code commit} (nothing to do for a commit hash or an unchanged ref). */
  void writeRef(String repoId, String revision, String commit) {
    if (revision.equals(commit)) return;
    Path ref = repoFolder(repoId).resolve("refs").resolve(revision);
    if (commitOf(repoId, revision).filter(commit::equals).isPresent()) return;
    try {
      Files.createDirectories(ref.getParent());
      Path tmp = marigold4j.image.AtomicFiles.newTempFile(ref.getParent(), ".ref.");
      Files.writeString(tmp, commit, StandardCharsets.UTF_8);
      moveAtomically(tmp, ref);
    } catch (IOException e) {
      throw new CheckpointException(ref, "cannot write: " + e.getMessage(), e);
    }
  }

  /**
   * Makes {@code pointer} a relative symbolic link to {@code blob} ({@code ../../blobs/<etag>}, one more {@code ../}
   * per sub-folder), as {@code _create_symlink} does; copies the blob where the file system has no symbolic links.
   */
  static void link(Path pointer, Path blob) throws IOException {
    Files.createDirectories(pointer.getParent());
    Path target = pointer.getParent().relativize(blob);
    if (Files.isSymbolicLink(pointer) && Files.readSymbolicLink(pointer).equals(target)) return;
    Path tmp = pointer.resolveSibling(".tmp-" + ProcessHandle.current().pid() + "-" + Thread.currentThread().getId()
        + "-" + pointer.getFileName());
    Files.deleteIfExists(tmp);
    try {
      Files.createSymbolicLink(tmp, target);
    } catch (UnsupportedOperationException | FileSystemException e) {
      LOG.debug("no symbolic links in {} ({}); copying the blob", pointer.getParent(), e.toString());
      Files.copy(blob, tmp, StandardCopyOption.REPLACE_EXISTING);
    }
    moveAtomically(tmp, pointer);  // readers never see a half-made pointer
  }

  static void moveAtomically(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** The files of a snapshot whose target exists (a dangling link counts as absent), {@code /}-separated. */
  static List<String> listFiles(Path snapshot) {
    List<String> out = new ArrayList<>();
    if (!Files.isDirectory(snapshot)) return out;
    try (Stream<Path> s = Files.walk(snapshot)) {
      s.filter(p -> !p.getFileName().toString().startsWith(".tmp-") && Files.isRegularFile(p))
          .forEach(p -> out.add(snapshot.relativize(p).toString().replace('\\', '/')));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + snapshot, e);
    }
    out.sort(null);
    return out;
  }
}
