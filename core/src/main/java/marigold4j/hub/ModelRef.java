package marigold4j.hub;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A model named the way the Hub names it: {@code org/name}, optionally {@code @revision} (branch, tag or commit),
 * e.g. {@code GonzaloMG/marigold-e2e-ft-depth@main}.
 *
 * @param repoId {@code org/name}
 * @param revision the revision after {@code @}, or null when none was given
 */
public record ModelRef(String repoId, String revision) {
  // huggingface_hub's validate_repo_id, with the namespace required: a bare word is more likely a mistyped folder
  private static final Pattern ID = Pattern.compile("[\\w][\\w.-]*/[\\w][\\w.-]*");

  /** The reference {@code text} spells, or empty when it is not an {@code org/name[@revision]}. */
  public static Optional<ModelRef> parse(String text) {
    if (text == null) return Optional.empty();
    int at = text.indexOf('@');
    String id = at < 0 ? text : text.substring(0, at);
    String rev = at < 0 ? null : text.substring(at + 1);
    if (!ID.matcher(id).matches() || id.contains("--") || id.contains("..") || id.endsWith(".git")
        || id.endsWith(".") || id.endsWith("-") || id.length() > 96) {
      return Optional.empty();
    }
    if (rev != null && (rev.isEmpty() || rev.contains("..") || rev.startsWith("/") || rev.contains("\\")
        || rev.chars().anyMatch(c -> c <= ' '))) {
      return Optional.empty();
    }
    return Optional.of(new ModelRef(id, rev));
  }

  /** The revision to use: this reference's, else {@code fallback}, else {@code main}. */
  public String revisionOr(String fallback) {
    return revision != null ? revision : fallback != null ? fallback : "main";
  }

  @Override
  public String toString() {
    return revision == null ? repoId : repoId + "@" + revision;
  }
}
