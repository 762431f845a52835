package marigold4j.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * A local stand-in for the Hugging Face Hub serving one model repository with the Hub's real behaviour:
 * {@code /api/models/{id}/revision/{rev}} ({@code sha} + {@code siblings}), {@code /{id}/resolve/{rev}/{file}} with
 * {@code X-Repo-Commit} and {@code ETag} (git blob sha1) for regular files, and for LFS files ({@code *.safetensors},
 * {@code *.bin}) a 302 to {@code /cdn/<sha256>} carrying {@code X-Linked-Etag} / {@code X-Linked-Size}; {@code Range:
 * bytes=N-} answered with 206 and {@code Content-Range}; {@code X-Error-Code} on errors. Faults can be switched on:
 * a connection cut after N bytes, corrupt content, gating, a server that ignores Range, throttling.
 */
public final class FakeHub implements AutoCloseable {
  /** The commit every revision of the repository points at. */
  public static final String COMMIT = "5b3e1c6f0f4a2d9e8c7b6a5f4e3d2c1b0a998877";

  /** One request as the server saw it. */
  public record Request(String method, String path, String range, String authorization) {}

  private final String repoId;
  private final Map<String, byte[]> files = new TreeMap<>();
  private final HttpServer server;
  private final ExecutorService executor;
  private final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
  private final Map<String, AtomicLong> bytesServed = new ConcurrentHashMap<>();
  private final Map<String, Integer> cutsLeft = new ConcurrentHashMap<>();
  private final Map<String, Long> linkedSize = new ConcurrentHashMap<>();
  private final Set<String> corrupt = ConcurrentHashMap.newKeySet();
  private volatile long cutAfter;
  private volatile boolean relativeRedirects;
  private volatile String cdnHost = "127.0.0.1";
  private volatile String requiredToken;
  private volatile boolean ignoreRange;
  private final Map<String, Integer> stallsLeft = new ConcurrentHashMap<>();
  private volatile long stallAfter;
  private volatile long throttleMillisPerChunk;

  private FakeHub(String repoId) {
    this.repoId = repoId;
    try {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    executor = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "fake-hub");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.createContext("/", this::handle);
  }

  /** Serves every file under {@code folder} as repository {@code repoId}, plus a README and .gitattributes. */
  public static FakeHub serving(String repoId, Path folder) {
    FakeHub hub = new FakeHub(repoId);
    try (Stream<Path> s = Files.walk(folder)) {
      for (Path p : (Iterable<Path>) s.filter(Files::isRegularFile)::iterator) {
        hub.files.put(folder.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    hub.files.put("README.md", "# tiny model\n".getBytes(StandardCharsets.UTF_8));
    hub.files.put(".gitattributes", "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
        .getBytes(StandardCharsets.UTF_8));
    hub.server.start();
    return hub;
  }

  public FakeHub withFile(String path, byte[] content) {
    files.put(path, content);
    return this;
  }

  public FakeHub withoutFile(String path) {
    files.remove(path);
    return this;
  }

  /** The first {@code times} GETs of {@code file} send {@code bytes} bytes of the announced length, then hang up. */
  public FakeHub cut(String file, long bytes, int times) {
    cutAfter = bytes;
    cutsLeft.put(file, times);
    return this;
  }

  /** Serves {@code file} with one byte changed (same size, wrong checksum). */
  public FakeHub corrupt(String file) {
    corrupt.add(file);
    return this;
  }

  /** Announces another size for an LFS file in {@code X-Linked-Size}. */
  public FakeHub linkedSize(String file, long size) {
    linkedSize.put(file, size);
    return this;
  }

  /** Redirects LFS files with a relative {@code Location} ({@code /cdn/...}) instead of an absolute URL. */
  public FakeHub relativeRedirects(boolean on) {
    relativeRedirects = on;
    return this;
  }

  /** The host name absolute CDN redirects use ({@code localhost} makes the CDN another host than the Hub's). */
  public FakeHub cdnHost(String host) {
    cdnHost = host;
    return this;
  }

  /** Gates the repository: API and resolve answer 401 without {@code Bearer token}, 403 with another token. */
  public FakeHub gated(String token) {
    requiredToken = token;
    return this;
  }

  /** Answers every Range request with the whole file (200), as some proxies do. */
  /** The next {@code times} GETs of {@code file} send {@code bytes} bytes, then nothing, holding the connection. */
  public FakeHub stall(String file, long bytes, int times) {
    stallAfter = bytes;
    stallsLeft.put(file, times);
    return this;
  }

  public FakeHub ignoreRange(boolean on) {
    ignoreRange = on;
    return this;
  }

  /** Sleeps this long after each 64 KiB of file content (to make downloads overlap). */
  public FakeHub throttle(long millisPerChunk) {
    throttleMillisPerChunk = millisPerChunk;
    return this;
  }

  public String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  public String repoId() {
    return repoId;
  }

  public Map<String, byte[]> files() {
    return Collections.unmodifiableMap(files);
  }

  public byte[] content(String file) {
    return files.get(file);
  }

  public static boolean isLfs(String file) {
    return file.endsWith(".safetensors") || file.endsWith(".bin");
  }

  /** The blob name the Hub gives {@code file}: sha256 of the content for LFS files, else the git blob sha1. */
  public String etag(String file) {
    byte[] c = files.get(file);
    return isLfs(file) ? sha256(c) : gitSha1(c);
  }

  public List<Request> requests() {
    synchronized (requests) {
      return List.copyOf(requests);
    }
  }

  /** The GETs that transferred {@code file}'s content (from the CDN for LFS files). */
  public List<Request> contentGets(String file) {
    String path = isLfs(file) ? "/cdn/" + etag(file) : "/" + repoId + "/resolve/";
    return requests().stream().filter(r -> r.method().equals("GET") && (isLfs(file) ? r.path().equals(path)
        : r.path().startsWith(path) && r.path().endsWith("/" + file))).toList();
  }

  /** Content bytes sent for {@code file}. */
  public long bytesServed(String file) {
    AtomicLong n = bytesServed.get(file);
    return n == null ? 0 : n.get();
  }

  public void clearLog() {
    requests.clear();
    bytesServed.clear();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  public static String sha256(byte[] content) {
    return hex("SHA-256", null, content);
  }

  public static String gitSha1(byte[] content) {
    return hex("SHA-1", ("blob " + content.length + "\0").getBytes(StandardCharsets.US_ASCII), content);
  }

  private static String hex(String alg, byte[] prefix, byte[] content) {
    try {
      MessageDigest md = MessageDigest.getInstance(alg);
      if (prefix != null) md.update(prefix);
      return HexFormat.of().formatHex(md.digest(content));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---- HTTP ---------------------------------------------------------------------------------------------------

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();  // decoded
      requests.add(new Request(ex.getRequestMethod(), path, ex.getRequestHeaders().getFirst("Range"),
          ex.getRequestHeaders().getFirst("Authorization")));
      if (path.startsWith("/cdn/")) {
        String sha = path.substring(5);
        String file = files.keySet().stream().filter(f -> isLfs(f) && sha256(files.get(f)).equals(sha)).findFirst()
            .orElse(null);
        if (file == null) {
          error(ex, 404, null, "no such object");
        } else {
          ex.getResponseHeaders().set("ETag", "\"" + sha + "\"");
          ex.getResponseHeaders().set("Content-Disposition", "attachment; filename=\""
              + file.substring(file.lastIndexOf('/') + 1) + "\";");
          content(ex, file);
        }
        return;
      }
      String api = "/api/models/";
      if (path.startsWith(api)) {
        int rev = path.indexOf("/revision/");
        String id = rev < 0 ? path.substring(api.length()) : path.substring(api.length(), rev);
        if (!id.equals(repoId)) {
          error(ex, 404, "RepoNotFound", "Repository not found");
        } else if (gate(ex)) {
          String revision = rev < 0 ? "main" : path.substring(rev + "/revision/".length());
          if (!knownRevision(revision)) {
            error(ex, 404, "RevisionNotFound", "Invalid rev id: " + revision);
          } else {
            StringBuilder json = new StringBuilder("{\"id\":\"" + repoId + "\",\"sha\":\"" + COMMIT
                + "\",\"private\":false,\"siblings\":[");
            int i = 0;
            for (String f : files.keySet()) json.append(i++ == 0 ? "" : ",").append("{\"rfilename\":\"").append(f)
                .append("\"}");
            json.append("]}");
            byte[] body = json.toString().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
          }
        }
        return;
      }
      String prefix = "/" + repoId + "/resolve/";
      if (!path.startsWith(prefix)) {
        error(ex, 404, "RepoNotFound", "Repository not found");
        return;
      }
      if (!gate(ex)) return;
      String rest = path.substring(prefix.length());
      int slash = rest.indexOf('/');
      String revision = slash < 0 ? rest : rest.substring(0, slash);
      String file = slash < 0 ? "" : rest.substring(slash + 1);
      if (!knownRevision(revision)) {
        error(ex, 404, "RevisionNotFound", "Invalid rev id: " + revision);
        return;
      }
      ex.getResponseHeaders().set("X-Repo-Commit", COMMIT);
      if (!files.containsKey(file)) {
        error(ex, 404, "EntryNotFound", "Entry not found");
        return;
      }
      if (isLfs(file)) {
        String sha = sha256(files.get(file));
        String location = relativeRedirects ? "/cdn/" + sha
            : "http://" + cdnHost + ":" + server.getAddress().getPort() + "/cdn/" + sha + "?X-Amz-Signature=abc";
        ex.getResponseHeaders().set("Location", location);
        ex.getResponseHeaders().set("X-Linked-Etag", "\"" + sha + "\"");
        ex.getResponseHeaders().set("X-Linked-Size", Long.toString(linkedSize.getOrDefault(file,
            (long) files.get(file).length)));
        ex.getResponseHeaders().set("ETag", "\"" + gitSha1(("version https://git-lfs.github.com/spec/v1\noid sha256:"
            + sha + "\n").getBytes(StandardCharsets.UTF_8)) + "\"");
        ex.sendResponseHeaders(302, -1);
        return;
      }
      ex.getResponseHeaders().set("ETag", "\"" + gitSha1(files.get(file)) + "\"");
      content(ex, file);
    }
  }

  private boolean knownRevision(String revision) {
    return revision.equals("main") || revision.equals(COMMIT);
  }

  /** False (after answering) when the repository is gated and the request lacks the token. */
  private boolean gate(HttpExchange ex) throws IOException {
    if (requiredToken == null) return true;
    String auth = ex.getRequestHeaders().getFirst("Authorization");
    if (("Bearer " + requiredToken).equals(auth)) return true;
    error(ex, auth == null ? 401 : 403, "GatedRepo", "Access to model " + repoId + " is restricted.");
    return false;
  }

  private static void error(HttpExchange ex, int status, String code, String message) throws IOException {
    if (code != null) ex.getResponseHeaders().set("X-Error-Code", code);
    ex.getResponseHeaders().set("X-Error-Message", message);
    byte[] body = ("{\"error\":\"" + message + "\"}").getBytes(StandardCharsets.UTF_8);
    if (ex.getRequestMethod().equals("HEAD")) {
      ex.sendResponseHeaders(status, -1);
    } else {
      ex.sendResponseHeaders(status, body.length);
      ex.getResponseBody().write(body);
    }
  }

  private void content(HttpExchange ex, String file) throws IOException {
    byte[] data = files.get(file);
    if (corrupt.contains(file)) {
      data = data.clone();
      data[data.length / 2] ^= 0x5a;
    }
    long start = 0;
    String range = ex.getRequestHeaders().getFirst("Range");
    int status = 200;
    ex.getResponseHeaders().set("Accept-Ranges", "bytes");
    if (range != null && !ignoreRange && range.startsWith("bytes=") && range.endsWith("-")) {
      start = Long.parseLong(range.substring(6, range.length() - 1));
      if (start >= data.length) {
        ex.getResponseHeaders().set("Content-Range", "bytes */" + data.length);
        ex.sendResponseHeaders(416, -1);
        return;
      }
      status = 206;
      ex.getResponseHeaders().set("Content-Range", "bytes " + start + "-" + (data.length - 1) + "/" + data.length);
    }
    long length = data.length - start;
    if (ex.getRequestMethod().equals("HEAD")) {
      // the JDK server adds no Content-Length to HEAD answers by itself
      ex.getResponseHeaders().set("Content-Length", Long.toString(length));
      ex.sendResponseHeaders(status, -1);
      return;
    }
    long limit = length;
    boolean cutThis = cutsLeft.computeIfPresent(file, (k, v) -> v - 1) != null && cutsLeft.get(file) >= 0;
    if (cutThis) limit = Math.min(length, cutAfter);
    boolean stallThis = stallsLeft.computeIfPresent(file, (k, v) -> v - 1) != null && stallsLeft.get(file) >= 0;
    if (stallThis) limit = Math.min(length, stallAfter);
    ex.sendResponseHeaders(status, length == 0 ? -1 : length);
    OutputStream out = ex.getResponseBody();
    AtomicLong served = bytesServed.computeIfAbsent(file, k -> new AtomicLong());
    for (long off = start; off < start + limit; ) {
      int n = (int) Math.min(1 << 16, start + limit - off);
      out.write(data, (int) off, n);
      out.flush();
      served.addAndGet(n);
      off += n;
      if (throttleMillisPerChunk > 0) {
        try {
          Thread.sleep(throttleMillisPerChunk);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
    if (stallThis && limit < length) {
      try {
        Thread.sleep(120_000);                 // a server that keeps the connection open and sends nothing more
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return;
    }
    if (cutThis && limit < length) {
      // closing with bytes still owed makes the JDK server drop the connection: the client sees a cut
      ex.close();
    }
  }
}
