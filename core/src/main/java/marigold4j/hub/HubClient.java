package marigold4j.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.hub.HubException.Kind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Downloads model repositories from the Hugging Face Hub into the cache {@code huggingface_hub} uses, and finds them
 * there without network, with the semantics of {@code snapshot_download} / {@code hf_hub_download}.
 *
 * <p>Online: {@code GET {endpoint}/api/models/{id}/revision/{revision}} gives the commit and the file list; the
 * {@link FileFilter} picks the files; each missing one is located with {@code HEAD {endpoint}/{id}/resolve/{commit}/
 * {file}} (ETag, size, redirect to the storage CDN), downloaded to {@code blobs/<etag>.incomplete} under a lock,
 * resumed with HTTP {@code Range} when the connection drops, verified against the ETag (sha256 for LFS files, git
 * blob sha1 for the others) and only then moved to {@code blobs/<etag>} and linked from the snapshot. When the Hub
 * cannot be reached, or refuses, a complete cached snapshot of the revision is used instead (with a warning), as the
 * Python library does. Offline ({@code HF_HUB_OFFLINE=1}) only the cache is used and the error names what is missing.
 *
 * <p>Instances are immutable and thread-safe; concurrent downloads of the same model, from threads or processes,
 * share the work through lock files.
 */
public final class HubClient {
  private static final Logger LOG = LoggerFactory.getLogger(HubClient.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern REPO_ID = Pattern.compile("[\\w.-]+(/[\\w.-]+)?");
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
  private static final String USER_AGENT = "marigold4j/0.1.0; java/" + Runtime.version().feature();

  private final URI endpoint;
  private final String token;
  private final boolean offline;
  private final HubCache cache;
  private final DownloadProgress progress;
  private final Duration timeout;
  private final int maxRetries;
  private final Duration retryWait;
  private final Duration stallTimeout;
  private final Duration retryBudget;
  private final HttpClient http;
  /** Reads response bodies, so that a body that stops sending can be given up on (the JDK client has no read timeout). */
  private static final java.util.concurrent.ExecutorService BODY_READERS =
      java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "marigold4j-download-read");
        t.setDaemon(true);
        return t;
      });

  private HubClient(Builder b) {
    this.endpoint = URI.create(b.endpoint.replaceAll("/+$", "") + "/");
    this.token = b.token;
    this.offline = b.offline;
    this.cache = new HubCache(b.cacheDir.toAbsolutePath());
    this.progress = b.progress;
    this.timeout = b.timeout;
    this.maxRetries = b.maxRetries;
    this.retryWait = b.retryWait;
    this.stallTimeout = b.stallTimeout != null ? b.stallTimeout : b.timeout;
    this.retryBudget = b.retryBudget;
    // redirects are followed by hand: the Hub's headers sit on the redirect itself, and the token must not follow
    // a redirect to another host (the CDN URL is signed)
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(b.timeout)
        .followRedirects(HttpClient.Redirect.NEVER).build();
  }

  /** A client configured from the process environment ({@code HF_ENDPOINT}, {@code HF_TOKEN}, ...). */
  public static HubClient fromEnvironment() {
    return builder().build();
  }

  /** A builder whose defaults come from the process environment. */
  public static Builder builder() {
    return new Builder(System.getenv());
  }

  /**
   * A builder whose defaults come from {@code env}, read as {@code huggingface_hub} reads the environment:
   * {@code HF_ENDPOINT}, {@code HF_TOKEN} / {@code HF_TOKEN_PATH} / {@code $HF_HOME/token}, {@code HF_HUB_OFFLINE},
   * {@code HF_HUB_CACHE} / {@code HF_HOME} / {@code XDG_CACHE_HOME}.
   */
  public static Builder builder(Map<String, String> env) {
    return new Builder(env);
  }

  /** Options of a {@link HubClient}; every setter overrides the environment's value. */
  public static final class Builder {
    private String endpoint;
    private String token;
    private boolean offline;
    private Path cacheDir;
    private DownloadProgress progress = DownloadProgress.NONE;
    private Duration timeout = Duration.ofSeconds(10);
    private Duration stallTimeout;
    private Duration retryBudget = Duration.ofMinutes(10);
    private int maxRetries = 5;
    private Duration retryWait = Duration.ofSeconds(1);

    private Builder(Map<String, String> env) {
      HubEnvironment e = new HubEnvironment(env);
      endpoint = e.endpoint();
      token = e.token();
      offline = e.offline();
      cacheDir = e.hubCache();
    }

    /** The Hub or a mirror, e.g. {@code https://hf-mirror.com}. */
    public Builder endpoint(String url) {
      URI u = URI.create(Objects.requireNonNull(url, "url"));
      if (u.getScheme() == null || !u.getScheme().startsWith("http") || u.getHost() == null) {
        throw new IllegalArgumentException("invalid Hub endpoint '" + url + "': expected http(s)://host[:port]");
      }
      this.endpoint = url;
      return this;
    }

    /** The access token for gated and private models; null for none. */
    public Builder token(String token) {
      this.token = token == null || token.isBlank() ? null : token.trim();
      return this;
    }

    /** Use only the cache, never the network. */
    public Builder offline(boolean offline) {
      this.offline = offline;
      return this;
    }

    /** The hub cache folder (the one holding {@code models--org--name} folders). */
    public Builder cacheDir(Path dir) {
      this.cacheDir = HubEnvironment.expand(Objects.requireNonNull(dir, "dir").toString());
      return this;
    }

    public Builder progress(DownloadProgress progress) {
      this.progress = Objects.requireNonNull(progress, "progress");
      return this;
    }

    /** Connect timeout, and the time to wait for a response's headers (default 10 s, as huggingface_hub's). */
    public Builder timeout(Duration timeout) {
      this.timeout = Objects.requireNonNull(timeout, "timeout");
      return this;
    }

    /**
     * How long a response body may send nothing before the transfer is treated as a lost connection and resumed
     * (default: the {@link #timeout}, as huggingface_hub's read timeout).
     */
    public Builder stallTimeout(Duration stallTimeout) {
      this.stallTimeout = Objects.requireNonNull(stallTimeout, "stallTimeout");
      return this;
    }

    /**
     * How long a file may go without reaching bytes it never had before, across retries, before the download gives
     * up (default 10 minutes). Bounds a server that keeps answering but never gets further.
     */
    public Builder retryBudget(Duration retryBudget) {
      this.retryBudget = Objects.requireNonNull(retryBudget, "retryBudget");
      return this;
    }

    /**
     * Failed attempts in a row, without new bytes, before a file's download gives up (default 5), and the pause
     * between them.
     */
    public Builder retries(int maxRetries, Duration wait) {
      if (maxRetries < 0) throw new IllegalArgumentException("maxRetries < 0");
      this.maxRetries = maxRetries;
      this.retryWait = Objects.requireNonNull(wait, "wait");
      return this;
    }

    public HubClient build() {
      return new HubClient(this);
    }
  }

  /** The Hub address, without a trailing slash. */
  public String endpoint() {
    return endpoint.toString().replaceAll("/$", "");
  }

  /** The hub cache folder. */
  public Path cacheDir() {
    return cache.root();
  }

  public boolean offline() {
    return offline;
  }

  public boolean hasToken() {
    return token != null;
  }

  /** The cache folder of one repository: {@code <cache>/models--org--name}. */
  public Path repoFolder(String repoId) {
    return cache.repoFolder(checkRepoId(repoId));
  }

  /**
   * Makes the files {@code which} selects available in the cache and returns the snapshot folder,
   * {@code <cache>/models--org--name/snapshots/<commit>}, usable as a checkpoint folder.
   *
   * @param repoId {@code org/name}
   * @param revision branch, tag or full commit hash; null for {@code main}
   * @throws HubException naming the model and the problem (see {@link HubException.Kind})
   */
  public Path snapshot(String repoId, String revision, FileFilter which) {
    checkRepoId(repoId);
    String rev = revision == null || revision.isEmpty() ? "main" : revision;
    Objects.requireNonNull(which, "which");
    String name = repoId + "@" + rev;
    if (offline) {
      CacheLookup c = lookup(repoId, rev, which);
      if (c.snapshot != null) return c.snapshot;
      throw new HubException(Kind.NOT_CACHED, name + ": offline mode (HF_HUB_OFFLINE or --offline) and " + c.problem
          + "; download it with network access first (marigold4j download " + repoId
          + (rev.equals("main") ? "" : " --revision " + rev) + "), or pass a local checkpoint folder");
    }
    // a commit hash cannot move: a complete snapshot of it needs no network, as in hf_hub_download
    if (HubCache.COMMIT.matcher(rev).matches()) {
      CacheLookup c = lookup(repoId, rev, which);
      if (c.snapshot != null) return c.snapshot;
    }
    RepoInfo info;
    try {
      info = revisionInfo(repoId, rev);
    } catch (HubException e) {
      // like snapshot_download: when the Hub is unreachable or refuses (gated, private, down), fall back to a
      // complete cached snapshot; a revision the Hub says does not exist is not looked up in the cache
      if (e.kind() == Kind.REVISION_NOT_FOUND) throw e;
      CacheLookup c = lookup(repoId, rev, which);
      if (c.snapshot != null) {
        LOG.warn("{}; using the cached snapshot {}", e.getMessage(), c.snapshot);
        return c.snapshot;
      }
      throw e;
    }
    cache.writeRef(repoId, rev, info.sha);
    Path snapshot = cache.snapshot(repoId, info.sha);
    FileFilter.Fetcher fetcher = file -> {
      if (!info.files.contains(file)) {
        throw new HubException(Kind.INCOMPLETE_REPO, name + ": the repository has no file " + file);
      }
      return ensureFile(repoId, info.sha, file);
    };
    FileFilter.Selection sel = which.select(info.files, fetcher);
    if (!sel.complete()) {
      throw new HubException(Kind.INCOMPLETE_REPO, name + " (commit " + info.sha + ") lacks what " + which
          + " need: " + String.join("; ", sel.missing()));
    }
    for (String f : sel.files()) fetcher.get(f);
    return snapshot;
  }

  /**
   * The cached snapshot of a revision when it holds everything {@code which} selects; never uses the network.
   */
  public Optional<Path> cachedSnapshot(String repoId, String revision, FileFilter which) {
    checkRepoId(repoId);
    return Optional.ofNullable(lookup(repoId, revision == null ? "main" : revision, which).snapshot);
  }

  private record CacheLookup(Path snapshot, String problem) {}

  private CacheLookup lookup(String repoId, String rev, FileFilter which) {
    Path repo = cache.repoFolder(repoId);
    if (!Files.isDirectory(repo)) return new CacheLookup(null, "the model is not in the cache " + cache.root());
    Optional<String> commit = cache.commitOf(repoId, rev);
    if (commit.isEmpty()) {
      return new CacheLookup(null, "the cache " + repo + " has no refs/" + rev + " (revision never downloaded)");
    }
    Path snapshot = cache.snapshot(repoId, commit.get());
    if (!Files.isDirectory(snapshot)) {
      return new CacheLookup(null, "the cache has no snapshot " + snapshot);
    }
    List<String> present = HubCache.listFiles(snapshot);
    FileFilter.Selection sel = which.select(present, f -> {
      Path p = snapshot.resolve(f);
      if (!Files.isRegularFile(p)) throw new CheckpointException(p, "missing from the cached snapshot");
      return p;
    });
    if (!sel.complete()) {
      return new CacheLookup(null, "the cached snapshot " + snapshot + " lacks " + String.join("; ", sel.missing()));
    }
    return new CacheLookup(snapshot, null);
  }

  private static String checkRepoId(String repoId) {
    if (repoId == null || !REPO_ID.matcher(repoId).matches() || repoId.contains("--") || repoId.contains("..")
        || repoId.endsWith(".git") || repoId.length() > 96) {
      throw new IllegalArgumentException("invalid model id '" + repoId + "': expected org/name (letters, digits, "
          + "'-', '_', '.')");
    }
    return repoId;
  }

  // ---- the Hub API --------------------------------------------------------------------------------------------

  private record RepoInfo(String sha, List<String> files) {}

  /** {@code GET /api/models/{id}/revision/{revision}}: {@code {"sha": ..., "siblings": [{"rfilename": ...}]}}. */
  private RepoInfo revisionInfo(String repoId, String rev) {
    URI url = endpoint.resolve("api/models/" + repoId + "/revision/" + encode(rev, false));
    HttpResponse<byte[]> r = send(HttpRequest.newBuilder(url).GET(), true, HttpResponse.BodyHandlers.ofByteArray(),
        repoId + "@" + rev);
    if (r.statusCode() != 200) throw httpError(r, repoId, rev, null);
    JsonNode root;
    try {
      root = JSON.readTree(r.body());
    } catch (IOException e) {
      throw new HubException(Kind.PROTOCOL, url + ": invalid JSON from the Hub API: " + e.getMessage(), e);
    }
    String sha = root == null ? null : root.path("sha").asText(null);
    if (sha == null || !HubCache.COMMIT.matcher(sha).matches()) {
      throw new HubException(Kind.PROTOCOL, url + ": the Hub API answer has no commit hash ('sha')");
    }
    List<String> files = new ArrayList<>();
    for (JsonNode s : root.path("siblings")) {
      String f = s.path("rfilename").asText("");
      if (!safeRepoPath(f)) {
        throw new HubException(Kind.PROTOCOL, url + ": the Hub API lists an unsafe file name '" + f + "'");
      }
      files.add(f);
    }
    return new RepoInfo(sha, List.copyOf(files));
  }

  /** A relative path that stays inside the snapshot folder. */
  private static boolean safeRepoPath(String f) {
    if (f.isEmpty() || f.startsWith("/") || f.contains("\\") || f.contains("\0")) return false;
    for (String part : f.split("/", -1)) {
      if (part.isEmpty() || part.equals(".") || part.equals("..")) return false;
    }
    return true;
  }

  private record FileMeta(String etag, long size, URI location, boolean sendAuth) {}

  /**
   * {@code HEAD /{id}/resolve/{commit}/{file}}, as {@code get_hf_file_metadata}: ETag ({@code X-Linked-Etag} first),
   * size ({@code X-Linked-Size} first) and where to download from. LFS files answer with a redirect to the storage
   * CDN that carries the Hub's headers itself; it is not followed. Other relative redirects (a renamed repository)
   * are followed.
   */
  private FileMeta head(String repoId, String commit, String file) {
    URI url = endpoint.resolve(repoId + "/resolve/" + commit + "/" + encode(file, true));
    URI current = url;
    String what = repoId + "@" + commit + ": " + file;
    for (int hop = 0; hop < 10; hop++) {
      HttpRequest.Builder rb = HttpRequest.newBuilder(current).method("HEAD", HttpRequest.BodyPublishers.noBody())
          .header("Accept-Encoding", "identity");
      HttpResponse<Void> r = send(rb, sameHost(current, endpoint), HttpResponse.BodyHandlers.discarding(), what);
      int status = r.statusCode();
      if (status >= 300 && status < 400) {
        String loc = r.headers().firstValue("Location").orElseThrow(() -> new HubException(Kind.PROTOCOL,
            what + ": redirect (HTTP " + status + ") without a Location"));
        URI target = current.resolve(loc);
        boolean relative = URI.create(loc).getHost() == null;
        if (r.headers().firstValue("X-Linked-Etag").isEmpty() && relative) {
          current = target;
          continue;
        }
        return meta(r, target, url, what);
      }
      if (status >= 200 && status < 300) return meta(r, current, url, what);
      throw httpError(r, repoId, commit, file);
    }
    throw new HubException(Kind.PROTOCOL, what + ": too many redirects");
  }

  private FileMeta meta(HttpResponse<?> r, URI location, URI requested, String what) {
    if (r.headers().firstValue("X-Repo-Commit").isEmpty()) {
      throw new HubException(Kind.PROTOCOL, what + ": " + endpoint() + " does not answer like the Hugging Face Hub "
          + "(no X-Repo-Commit header); check HF_ENDPOINT and proxies");
    }
    String etag = r.headers().firstValue("X-Linked-Etag").or(() -> r.headers().firstValue("ETag"))
        .map(HubClient::normalizeEtag).orElse(null);
    if (etag == null || !safeRepoPath(etag) || etag.contains("/")) {
      throw new HubException(Kind.PROTOCOL, what + ": the Hub sent no usable ETag");
    }
    long size = r.headers().firstValue("X-Linked-Size").or(() -> r.headers().firstValue("Content-Length"))
        .map(HubClient::parseLongOrMinusOne).orElse(-1L);
    return new FileMeta(etag, size, location, sameHost(location, requested));
  }

  /** {@code W/"abc"} and {@code "abc"} -> {@code abc}, as {@code _normalize_etag}. */
  static String normalizeEtag(String etag) {
    String e = etag.trim();
    if (e.startsWith("W/")) e = e.substring(2);
    return e.replace("\"", "");
  }

  private static long parseLongOrMinusOne(String s) {
    try {
      return Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static boolean sameHost(URI a, URI b) {
    return Objects.equals(a.getScheme(), b.getScheme()) && Objects.equals(a.getHost(), b.getHost())
        && a.getPort() == b.getPort();
  }

  private <T> HttpResponse<T> send(HttpRequest.Builder rb, boolean auth, HttpResponse.BodyHandler<T> body,
      String what) {
    rb.timeout(timeout).header("User-Agent", USER_AGENT);
    if (auth && token != null) rb.header("Authorization", "Bearer " + token);
    HttpRequest request = rb.build();
    try {
      return http.send(request, body);
    } catch (IOException e) {
      throw networkError(what, request.uri(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HubException(Kind.NETWORK, what + ": interrupted", e);
    }
  }

  private HubException networkError(String what, URI uri, IOException e) {
    String why = e instanceof ConnectException ? "connection refused"
        : e instanceof HttpConnectTimeoutException ? "connection timed out"
        : e instanceof HttpTimeoutException ? "no answer within " + timeout.toSeconds() + " s"
        : e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    return new HubException(Kind.NETWORK, what + ": cannot reach " + uri.getScheme() + "://" + uri.getAuthority()
        + " (" + why + "); use --offline (HF_HUB_OFFLINE=1) to run from the cache, or pass a local checkpoint folder",
        e);
  }

  /** The Hub's error, from its {@code X-Error-Code} header when present (as {@code hf_raise_for_status}). */
  private HubException httpError(HttpResponse<?> r, String repoId, String rev, String file) {
    int status = r.statusCode();
    String code = r.headers().firstValue("X-Error-Code").orElse("");
    String serverSays = r.headers().firstValue("X-Error-Message").map(m -> " (" + m + ")").orElse("");
    String where = " on " + endpoint();
    String tokenHint = token == null
        ? "set HF_TOKEN (or log in with `huggingface-cli login`) with a token that has access"
        : "the token sent (HF_TOKEN or the token file) has no access: check it, and that you accepted the model's"
            + " conditions on the Hub";
    if (code.equals("RevisionNotFound")) {
      return new HubException(Kind.REVISION_NOT_FOUND, repoId + ": revision '" + rev + "' not found" + where
          + serverSays);
    }
    if (code.equals("EntryNotFound") || (status == 404 && file != null && !code.equals("RepoNotFound"))) {
      return new HubException(Kind.NOT_FOUND, repoId + "@" + rev + ": file " + file + " not found" + where
          + serverSays);
    }
    if (code.equals("RepoNotFound") || status == 404) {
      // the Hub answers 401 RepoNotFound for unknown and for private repositories alike when no token is sent
      return new HubException(Kind.NOT_FOUND, "model " + repoId + " not found" + where + " (HTTP " + status + ")"
          + serverSays + ": check the id" + (status == 401 ? "; if it is private or gated, " + tokenHint : ""));
    }
    if (code.equals("GatedRepo") || status == 401 || status == 403) {
      return new HubException(Kind.UNAUTHORIZED, "access to model " + repoId + " denied" + where + " (HTTP " + status
          + ")" + serverSays + ": it is gated or private; " + tokenHint);
    }
    if (status == 429 || status >= 500) {
      return new HubException(Kind.NETWORK, repoId + ": the Hub answered HTTP " + status + serverSays
          + "; try again later, use --offline (HF_HUB_OFFLINE=1) to run from the cache, or pass a local folder");
    }
    return new HubException(Kind.PROTOCOL, repoId + "@" + rev + (file == null ? "" : ": " + file)
        + ": unexpected HTTP " + status + where + serverSays);
  }

  /** Percent-encodes as {@code urllib.parse.quote}; {@code /} is kept only in file paths. */
  static String encode(String s, boolean keepSlash) {
    StringBuilder sb = new StringBuilder();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~".indexOf(c) >= 0
          || (keepSlash && c == '/')) {
        sb.append(c);
      } else {
        sb.append('%').append(String.format("%02X", b & 0xff));
      }
    }
    return sb.toString();
  }

  // ---- files --------------------------------------------------------------------------------------------------

  /** The snapshot's copy of one file, downloading its blob first when needed. */
  private Path ensureFile(String repoId, String commit, String file) {
    Path snapshot = cache.snapshot(repoId, commit);
    Path pointer = snapshot.resolve(file);
    if (Files.isRegularFile(pointer)) return pointer;
    FileMeta meta = head(repoId, commit, file);
    Path blob = cache.blob(repoId, meta.etag);
    try (FileLocks.Held lock = FileLocks.lock(cache.lockFile(repoId, meta.etag))) {
      // another thread or process may have finished this blob while we waited for the lock
      if (!Files.isRegularFile(blob)) downloadBlob(meta, blob, repoId + ": " + file, file);
      HubCache.link(pointer, blob);
    } catch (IOException e) {
      throw new CheckpointException(pointer, "cannot link to " + blob + ": " + e.getMessage(), e);
    }
    return pointer;
  }

  private void downloadBlob(FileMeta meta, Path blob, String what, String file) throws IOException {
    Files.createDirectories(blob.getParent());
    Path incomplete = blob.resolveSibling(blob.getFileName() + ".incomplete");
    boolean leftover = Files.isRegularFile(incomplete) && Files.size(incomplete) > 0;
    try {
      transfer(meta, incomplete, what, file);
      verify(meta, incomplete, what);
    } catch (HubException e) {
      // a leftover of an earlier run may hold bytes of another version; one fresh attempt settles it
      if (e.kind() != Kind.CHECKSUM || !leftover) throw e;
      LOG.warn("{}; downloading the whole file again", e.getMessage());
      transfer(meta, incomplete, what, file);
      verify(meta, incomplete, what);
    }
    HubCache.moveAtomically(incomplete, blob);
    progress.finished(file);
  }

  /**
   * Appends to {@code incomplete} until it holds the whole file, resuming with {@code Range: bytes=N-} after a
   * connection cut, as {@code http_get} does (the retry budget resets whenever data arrives).
   */
  private void transfer(FileMeta meta, Path incomplete, String what, String file) throws IOException {
    long size = meta.size;
    long have = Files.isRegularFile(incomplete) ? Files.size(incomplete) : 0;
    if (size >= 0 && have > size) have = truncate(incomplete);
    if (size >= 0) checkDiskSpace(incomplete.getParent(), size - have, what);
    if (have > 0) LOG.info("{}: resuming at {} of {} bytes", what, have, size);
    progress.started(file, size, have);
    // The budget resets only when bytes arrive that the file never had (a server that ignores Range and drops the
    // connection at the same point must not retry forever), and the whole run is bounded by retryBudget.
    int retries = maxRetries;
    long best = have;
    long lastGain = System.nanoTime();
    int attempts = 0;
    while (size < 0 || have < size) {
      if (attempts++ > 0 && System.nanoTime() - lastGain > retryBudget.toNanos()) {
        throw new HubException(Kind.NETWORK, what + ": no progress past " + best + " of " + size + " bytes in "
            + retryBudget.toSeconds() + " s over " + (attempts - 1) + " attempts; run the command again to resume");
      }
      HttpResponse<InputStream> r;
      try {
        r = followGet(meta, have, what);
      } catch (HubException e) {
        if (e.kind() != Kind.NETWORK || --retries < 0) throw e;
        pause(what, e.getMessage());
        continue;
      }
      int status = r.statusCode();
      if (status == 416) {  // nothing left to send from this offset
        r.body().close();
        if (size >= 0 && have == size) break;
        have = truncate(incomplete);
        if (--retries < 0) throw new HubException(Kind.PROTOCOL, what + ": the server does not resume correctly");
        continue;
      }
      if (status == 206) {
        Matcher m = CONTENT_RANGE.matcher(r.headers().firstValue("Content-Range").orElse(""));
        if (!m.matches() || Long.parseLong(m.group(1)) != have) {
          r.body().close();
          LOG.warn("{}: the server resumed at the wrong offset ({}); starting over", what, m.matches() ? m.group(1)
              : "no Content-Range");
          have = truncate(incomplete);
          if (--retries < 0) throw new HubException(Kind.PROTOCOL, what + ": the server does not resume correctly");
          continue;
        }
      } else if (status == 200) {
        if (have > 0) have = truncate(incomplete);  // the server ignored the Range: start over, don't append twice
      } else {
        r.body().close();
        throw downloadError(status, what);
      }
      long before = have;
      try (InputStream in = r.body();
          OutputStream out = Files.newOutputStream(incomplete, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
        byte[] buf = new byte[1 << 16];
        while (true) {
          int n = readWithin(in, buf, what);
          if (n < 0) break;
          write(out, buf, n, incomplete, what);
          have += n;
          if (have > best) {
            best = have;
            lastGain = System.nanoTime();
            retries = maxRetries;
          }
          progress.advanced(file, have);
        }
      } catch (IOException e) {
        if (e instanceof DiskWriteException d) throw d.toHubException();
        if (--retries < 0) {
          throw new HubException(Kind.NETWORK, what + ": connection lost after " + have + " of " + size + " bytes ("
              + e.getMessage() + "), " + attempts + " attempts; run the command again to resume", e);
        }
        pause(what, "connection lost after " + have + " bytes (" + e.getMessage() + ")");
        continue;
      }
      if (size < 0) break;  // no size announced: one complete response is the file
      if (have < size && have == before && --retries < 0) {
        throw new HubException(Kind.NETWORK, what + ": the server sends no data after " + have + " of " + size
            + " bytes; run the command again to resume");
      }
    }
  }

  /**
   * One read of a response body, given up (as a lost connection) when nothing arrives within the stall timeout; the
   * stream is then closed, which ends the blocked read.
   */
  private int readWithin(InputStream in, byte[] buf, String what) throws IOException {
    java.util.concurrent.Future<Integer> read = BODY_READERS.submit(() -> in.read(buf));
    try {
      return read.get(stallTimeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      read.cancel(true);
      in.close();
      throw new IOException("no data for " + stallTimeout.toMillis() / 1000.0 + " s");
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof IOException io) throw io;
      throw new IOException(e.getCause());
    } catch (InterruptedException e) {
      read.cancel(true);
      Thread.currentThread().interrupt();
      throw new HubException(Kind.NETWORK, what + ": interrupted", e);
    }
  }

  /** A GET that follows redirects, sending the token only to the Hub's own host. */
  private HttpResponse<InputStream> followGet(FileMeta meta, long offset, String what) {
    URI current = meta.location;
    boolean auth = meta.sendAuth;
    for (int hop = 0; hop < 10; hop++) {
      HttpRequest.Builder rb = HttpRequest.newBuilder(current).GET().header("Accept-Encoding", "identity");
      if (offset > 0) rb.header("Range", "bytes=" + offset + "-");
      HttpResponse<InputStream> r = send(rb, auth, HttpResponse.BodyHandlers.ofInputStream(), what);
      int status = r.statusCode();
      if (status < 300 || status >= 400) return r;
      try {
        r.body().close();
      } catch (IOException ignored) {
        // nothing to read from a redirect
      }
      URI next = current.resolve(r.headers().firstValue("Location").orElseThrow(() -> new HubException(
          Kind.PROTOCOL, what + ": redirect without a Location")));
      auth = auth && sameHost(current, next);
      current = next;
    }
    throw new HubException(Kind.PROTOCOL, what + ": too many redirects");
  }

  private void pause(String what, String why) {
    LOG.warn("{}: {}; retrying", what, why);
    try {
      Thread.sleep(retryWait.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new HubException(Kind.NETWORK, what + ": interrupted", e);
    }
  }

  private static long truncate(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(0);
    }
    return 0;
  }

  /** A failed write to the cache: reported as such, never retried as a network error. */
  private static final class DiskWriteException extends IOException {
    private static final long serialVersionUID = 1L;
    private final transient Path file;
    private final String what;

    DiskWriteException(Path file, String what, IOException cause) {
      super(cause.getMessage(), cause);
      this.file = file;
      this.what = what;
    }

    RuntimeException toHubException() {
      String msg = getMessage() == null ? "" : getMessage();
      if (msg.contains("No space left") || msg.contains("not enough space") || msg.contains("Disk quota")) {
        return new HubException(Kind.DISK_FULL, what + ": disk full while writing " + file + " (" + msg + "); free "
            + "space or point HF_HUB_CACHE / --cache-dir at another disk, then run again to resume", this);
      }
      return new CheckpointException(file, "cannot write: " + msg, this);
    }
  }

  /** A failed GET of a file the HEAD request had located (an expired CDN link, a server error). */
  private HubException downloadError(int status, String what) {
    Kind kind = status == 404 ? Kind.NOT_FOUND : status == 401 || status == 403 ? Kind.UNAUTHORIZED
        : status == 429 || status >= 500 ? Kind.NETWORK : Kind.PROTOCOL;
    return new HubException(kind, what + ": download failed with HTTP " + status + (kind == Kind.UNAUTHORIZED
        ? (token == null ? "; set HF_TOKEN if the model is gated or private" : "; the token has no access")
        : "; run the command again"));
  }

  private static void write(OutputStream out, byte[] buf, int n, Path file, String what) throws DiskWriteException {
    try {
      out.write(buf, 0, n);
    } catch (IOException e) {
      throw new DiskWriteException(file, what, e);
    }
  }

  private static void checkDiskSpace(Path dir, long needed, String what) throws IOException {
    long free = Files.getFileStore(dir).getUsableSpace();
    if (needed > free) {
      throw new HubException(Kind.DISK_FULL, what + ": not enough disk space in " + dir + ": needs " + needed
          + " bytes, " + free + " free; free space or point HF_HUB_CACHE / --cache-dir at another disk");
    }
  }

  /** Size and content against the ETag: sha256 for LFS files, the git blob sha1 for files stored in git. */
  private static void verify(FileMeta meta, Path incomplete, String what) throws IOException {
    long actual = Files.size(incomplete);
    String problem = null;
    if (meta.size >= 0 && actual != meta.size) {
      problem = "size " + actual + " bytes, the Hub announced " + meta.size;
    } else if (SHA256.matcher(meta.etag).matches()) {
      String got = digest(incomplete, "SHA-256", null);
      if (!got.equals(meta.etag)) problem = "sha256 " + got + " does not match the Hub's " + meta.etag;
    } else if (HubCache.COMMIT.matcher(meta.etag).matches()) {
      String got = digest(incomplete, "SHA-1", ("blob " + actual + "\0").getBytes(StandardCharsets.US_ASCII));
      if (!got.equals(meta.etag)) problem = "git sha1 " + got + " does not match the Hub's " + meta.etag;
    } else {
      LOG.debug("{}: ETag {} is not a content hash; size checked only", what, meta.etag);
    }
    if (problem != null) {
      Files.deleteIfExists(incomplete);  // never leave corrupt bytes where a resume would build on them
      throw new HubException(Kind.CHECKSUM, what + ": download corrupt (" + problem + "); it was discarded, run "
          + "the command again");
    }
  }

  private static String digest(Path file, String algorithm, byte[] prefix) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance(algorithm);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    if (prefix != null) md.update(prefix);
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
    }
    return HexFormat.of().formatHex(md.digest());
  }

  @Override
  public String toString() {
    return "HubClient(" + endpoint() + ", cache " + cache.root() + (offline ? ", offline" : "")
        + (token != null ? ", with token" : "") + ")";
  }
}
