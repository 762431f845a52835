package marigold4j.hub;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * How {@link Checkpoints#resolve} fetches a model given by id. Unset values come from the environment as
 * {@code huggingface_hub} reads it ({@code HF_HUB_OFFLINE}, {@code HF_HUB_CACHE}, {@code HF_ENDPOINT},
 * {@code HF_TOKEN}, ...).
 *
 * @param revision branch, tag or commit when the id has no {@code @revision}; null for {@code main}
 * @param variant weight precision variant ({@code fp16}), or null for the full-precision weights
 * @param offline true to use only the cache; false leaves it to {@code HF_HUB_OFFLINE}
 * @param cacheDir the hub cache folder, or null for the environment's
 * @param endpoint the Hub or a mirror, or null for {@code HF_ENDPOINT} / {@code https://huggingface.co}
 * @param progress receives download progress
 * @param environment the environment variables to read (the process environment by default)
 */
public record ResolveOptions(String revision, String variant, boolean offline, Path cacheDir, String endpoint,
    DownloadProgress progress, Map<String, String> environment) {

  public ResolveOptions {
    Objects.requireNonNull(progress, "progress");
    Objects.requireNonNull(environment, "environment");
  }

  /** Full-precision weights, {@code main}, everything else from the process environment. */
  public static ResolveOptions defaults() {
    return new ResolveOptions(null, null, false, null, null, DownloadProgress.NONE, System.getenv());
  }

  public ResolveOptions withRevision(String revision) {
    return new ResolveOptions(revision, variant, offline, cacheDir, endpoint, progress, environment);
  }

  public ResolveOptions withVariant(String variant) {
    return new ResolveOptions(revision, variant, offline, cacheDir, endpoint, progress, environment);
  }

  public ResolveOptions withOffline(boolean offline) {
    return new ResolveOptions(revision, variant, offline, cacheDir, endpoint, progress, environment);
  }

  public ResolveOptions withCacheDir(Path cacheDir) {
    return new ResolveOptions(revision, variant, offline, cacheDir, endpoint, progress, environment);
  }

  public ResolveOptions withEndpoint(String endpoint) {
    return new ResolveOptions(revision, variant, offline, cacheDir, endpoint, progress, environment);
  }

  public ResolveOptions withProgress(DownloadProgress progress) {
    return new ResolveOptions(revision, variant, offline, cacheDir, endpoint, progress, environment);
  }

  public ResolveOptions withEnvironment(Map<String, String> environment) {
    return new ResolveOptions(revision, variant, offline, cacheDir, endpoint, progress, environment);
  }

  /** The client these options describe. */
  public HubClient client() {
    HubClient.Builder b = HubClient.builder(environment).progress(progress);
    if (offline) b.offline(true);
    if (cacheDir != null) b.cacheDir(cacheDir);
    if (endpoint != null) b.endpoint(endpoint);
    return b.build();
  }
}
