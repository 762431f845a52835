package marigold4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import marigold4j.hub.Checkpoints;
import marigold4j.hub.HubClient;
import marigold4j.hub.ResolveOptions;
import picocli.CommandLine.Option;

/** The Hugging Face Hub options shared by every command that takes a checkpoint (a picocli mixin). */
final class HubOptions {
  @Option(names = "--offline",
      description = "Use no network: take Hub models from the local cache only, naming what is missing "
          + "(same as HF_HUB_OFFLINE=1).")
  boolean offline;

  @Option(names = "--cache-dir", paramLabel = "DIR",
      description = "Hub cache folder (default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub).")
  Path cacheDir;

  @Option(names = "--endpoint", paramLabel = "URL",
      description = "Hub address, e.g. a mirror (default: $HF_ENDPOINT, else https://huggingface.co).")
  String endpoint;

  /** A local checkpoint folder as is; a Hub id {@code org/name[@revision]} downloaded (or found in the cache). */
  Path resolve(String idOrDir, String variant, PrintWriter err) {
    ResolveOptions o = ResolveOptions.defaults().withVariant(variant).withOffline(offline)
        .withProgress(CliDownloadProgress.forConsole(err));
    if (cacheDir != null) o = o.withCacheDir(cacheDir);
    if (endpoint != null) o = o.withEndpoint(endpoint);
    return Checkpoints.resolve(idOrDir, o);
  }

  /** A client configured from these options (and the environment). */
  HubClient.Builder client(PrintWriter err) {
    HubClient.Builder b = HubClient.builder().progress(CliDownloadProgress.forConsole(err));
    if (offline) b.offline(true);
    if (cacheDir != null) b.cacheDir(cacheDir);
    if (endpoint != null) b.endpoint(endpoint);
    return b;
  }
}
