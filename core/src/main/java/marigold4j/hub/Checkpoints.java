package marigold4j.hub;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import marigold4j.checkpoint.CheckpointException;

/**
 * Turns what a user typed for a checkpoint into a folder: an existing local folder as is, a Hugging Face model id
 * ({@code org/name[@revision]}) through the Hub and its cache. Every command that takes a checkpoint calls this.
 */
public final class Checkpoints {
  private Checkpoints() {}

  /**
   * The checkpoint folder {@code idOrDir} names.
   *
   * <p>An existing folder wins over an id of the same spelling (as in diffusers' {@code from_pretrained}). An id is
   * resolved with {@link HubClient#snapshot} and {@link FileFilter#pipeline}: only {@code model_index.json}, the
   * components' configs and tokenizer files, and the weights of {@code opts.variant()} are fetched.
   *
   * @throws IllegalArgumentException when {@code idOrDir} is neither a folder nor an id, or names two revisions
   * @throws CheckpointException naming the path, or ({@link HubException}) the model, and the problem
   */
  public static Path resolve(String idOrDir, ResolveOptions opts) {
    Objects.requireNonNull(opts, "opts");
    if (idOrDir == null || idOrDir.isBlank()) throw new IllegalArgumentException("no checkpoint given");
    Path local = asPath(idOrDir);
    if (local != null && Files.isDirectory(local)) return local;
    if (local != null && Files.exists(local)) {
      throw new CheckpointException(local, "is a file; pass the checkpoint folder (the one holding model_index.json)");
    }
    Optional<ModelRef> ref = ModelRef.parse(idOrDir);
    if (ref.isEmpty()) {
      throw new IllegalArgumentException("'" + idOrDir + "': no such folder, and not a Hugging Face model id "
          + "(org/name or org/name@revision)");
    }
    ModelRef m = ref.get();
    if (m.revision() != null && opts.revision() != null && !m.revision().equals(opts.revision())) {
      throw new IllegalArgumentException("'" + idOrDir + "' names revision " + m.revision() + " but revision "
          + opts.revision() + " was asked for");
    }
    try {
      return opts.client().snapshot(m.repoId(), m.revisionOr(opts.revision()), FileFilter.pipeline(opts.variant()));
    } catch (HubException e) {
      if (e.kind() != HubException.Kind.NOT_FOUND) throw e;
      // an id-shaped string may also be a mistyped relative folder
      throw new HubException(e.kind(), e.getMessage() + " (and there is no local folder '" + idOrDir + "')", e);
    }
  }

  /** {@link #resolve} with {@link ResolveOptions#defaults()}. */
  public static Path resolve(String idOrDir) {
    return resolve(idOrDir, ResolveOptions.defaults());
  }

  private static Path asPath(String s) {
    try {
      return HubEnvironment.expand(s);
    } catch (InvalidPathException e) {
      return null;
    }
  }
}
