package marigold4j.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The settings {@code huggingface_hub.constants} reads from the environment, with the same names, precedence and
 * defaults, so that marigold4j and the Python tools agree on where the cache and the token are.
 */
final class HubEnvironment {
  static final String DEFAULT_ENDPOINT = "https://huggingface.co";
  private static final Set<String> TRUE = Set.of("1", "ON", "YES", "TRUE");

  private final Map<String, String> env;

  HubEnvironment(Map<String, String> env) {
    this.env = env;
  }

  private String get(String name) {
    String v = env.get(name);
    return v == null || v.isEmpty() ? null : v;
  }

  /** {@code $HF_HOME}, default {@code $XDG_CACHE_HOME/huggingface}, default {@code ~/.cache/huggingface}. */
  Path hfHome() {
    String home = get("HF_HOME");
    if (home != null) return expand(home);
    String xdg = get("XDG_CACHE_HOME");
    return (xdg != null ? expand(xdg) : expand("~/.cache")).resolve("huggingface");
  }

  /** {@code $HF_HUB_CACHE} (legacy {@code $HUGGINGFACE_HUB_CACHE}), default {@code $HF_HOME/hub}. */
  Path hubCache() {
    String cache = get("HF_HUB_CACHE");
    if (cache == null) cache = get("HUGGINGFACE_HUB_CACHE");
    return cache != null ? expand(cache) : hfHome().resolve("hub");
  }

  /** {@code $HF_ENDPOINT} without a trailing slash, default {@code https://huggingface.co}. */
  String endpoint() {
    String e = get("HF_ENDPOINT");
    return e == null ? DEFAULT_ENDPOINT : e.replaceAll("/+$", "");
  }

  /** {@code HF_HUB_OFFLINE} (or the older {@code TRANSFORMERS_OFFLINE}) is 1 / ON / YES / TRUE. */
  boolean offline() {
    String v = get("HF_HUB_OFFLINE");
    if (v == null) v = get("TRANSFORMERS_OFFLINE");
    return v != null && TRUE.contains(v.trim().toUpperCase(Locale.ROOT));
  }

  /**
   * {@code $HF_TOKEN} (legacy {@code $HUGGING_FACE_HUB_TOKEN}), else the file {@code huggingface-cli login} writes
   * ({@code $HF_TOKEN_PATH}, default {@code $HF_HOME/token}); null when none or blank.
   */
  String token() {
    String t = get("HF_TOKEN");
    if (t == null) t = get("HUGGING_FACE_HUB_TOKEN");
    if (t == null) {
      String p = get("HF_TOKEN_PATH");
      Path file = p != null ? expand(p) : hfHome().resolve("token");
      if (Files.isRegularFile(file)) {
        try {
          t = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
          t = null;  // an unreadable token file is the same as none, as in huggingface_hub
        }
      }
    }
    if (t == null) return null;
    t = t.replace("\r", "").replace("\n", "").trim();
    return t.isEmpty() ? null : t;
  }

  static Path expand(String path) {
    if (path.equals("~")) return Path.of(System.getProperty("user.home"));
    if (path.startsWith("~/")) return Path.of(System.getProperty("user.home")).resolve(path.substring(2));
    return Path.of(path);
  }
}
