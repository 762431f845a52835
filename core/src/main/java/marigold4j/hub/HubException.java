package marigold4j.hub;

import marigold4j.checkpoint.CheckpointException;

/**
 * A model that cannot be fetched from the Hugging Face Hub or found in the local cache. The message is one line meant
 * for users: it names the model (and the file, where one is at fault), the problem and what to do about it.
 */
public final class HubException extends CheckpointException {
  private static final long serialVersionUID = 1L;

  /** What went wrong, for callers that react differently (the CLI maps every kind to the same exit code). */
  public enum Kind {
    /** Unknown repository, revision or file (HTTP 404). */
    NOT_FOUND,
    /** The repository exists but the branch, tag or commit does not. */
    REVISION_NOT_FOUND,
    /** Gated or private model without a (valid) token (HTTP 401 / 403). */
    UNAUTHORIZED,
    /** The Hub cannot be reached, or answered with a server error, and the cache cannot stand in. */
    NETWORK,
    /** Offline mode (or no network) and the cache lacks files the pipeline needs. */
    NOT_CACHED,
    /** A downloaded file does not match its size or its checksum (the LFS sha256 / git sha1 ETag). */
    CHECKSUM,
    /** Not enough disk space for the download. */
    DISK_FULL,
    /** The server does not behave like the Hub (missing headers, malformed JSON). */
    PROTOCOL,
    /** The repository lacks files the pipeline needs. */
    INCOMPLETE_REPO
  }

  private final Kind kind;

  public HubException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public HubException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
