package marigold4j.hub;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.fuzz.Invariants;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Timeout;

/**
 * Hub answers ({@link HubClient#snapshot}) from a fake Hub in this JVM whose every answer comes from the input: the
 * revision API's JSON (commit, file list), the file metadata headers (X-Repo-Commit, ETag, X-Linked-Size) and the
 * files' bytes (model_index.json, which {@link FileFilter#pipeline} reads to select the rest). Whatever the Hub
 * says, the client gives a snapshot folder inside its cache or a {@link HubException} (a {@link
 * CheckpointException} for a model_index.json it cannot read), and writes nothing outside its cache folder.
 */
class HubResponsesFuzzTest {
  private static final AtomicReference<Answers> ANSWERS = new AtomicReference<>();
  private static HttpServer hub;

  record Answers(byte[] revision, int headStatus, String commit, String etag, String size, byte[] file) {}

  static synchronized int port() throws IOException {
    if (hub == null) {
      // the harness talks to its own server on the loopback address: not the request forgery Jazzer's sanitizer
      // reports for every connection (it stays armed for any other host)
      com.code_intelligence.jazzer.api.BugDetectors.allowNetworkConnections(
          (host, port) -> host.equals("127.0.0.1") || host.equals("localhost"));
      hub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
      hub.createContext("/", HubResponsesFuzzTest::answer);
      hub.start();
    }
    return hub.getAddress().getPort();
  }

  @AfterAll
  static synchronized void stop() {
    if (hub != null) hub.stop(0);
    hub = null;
  }

  private static void answer(HttpExchange ex) throws IOException {
    Answers a = ANSWERS.get();
    try (ex) {
      String path = ex.getRequestURI().getRawPath();
      if (path.startsWith("/api/models/")) {
        ex.sendResponseHeaders(200, a.revision().length == 0 ? -1 : a.revision().length);
        ex.getResponseBody().write(a.revision());
      } else if (ex.getRequestMethod().equals("HEAD")) {
        if (!a.commit().isEmpty()) ex.getResponseHeaders().add("X-Repo-Commit", a.commit());
        if (!a.etag().isEmpty()) ex.getResponseHeaders().add("ETag", a.etag());
        if (!a.size().isEmpty()) ex.getResponseHeaders().add("X-Linked-Size", a.size());
        ex.sendResponseHeaders(a.headStatus(), -1);
      } else {
        ex.sendResponseHeaders(200, a.file().length == 0 ? -1 : a.file().length);
        ex.getResponseBody().write(a.file());
      }
    } catch (IOException | RuntimeException e) {
      // the client hung up, or a header value the JDK refuses to send: the client sees a broken answer
    }
  }

  @FuzzTest
  @Timeout(30)
  void snapshot(byte[] data) throws IOException {
    // the input: six fields separated by NUL bytes: HEAD status, X-Repo-Commit, ETag, X-Linked-Size, the revision
    // API's body, the body of every file download (the last field may hold NULs)
    String[] f = new String[5];
    int pos = 0;
    for (int i = 0; i < 5; i++) {
      int nul = indexOf(data, pos);
      int end = nul < 0 ? data.length : nul;
      f[i] = new String(data, pos, end - pos, StandardCharsets.ISO_8859_1);
      pos = Math.min(data.length, end + 1);
    }
    byte[] file = java.util.Arrays.copyOfRange(data, pos, data.length);
    int headStatus;
    try {
      headStatus = Integer.parseInt(f[0].trim());
    } catch (NumberFormatException e) {
      headStatus = 200;
    }
    if (headStatus < 200 || headStatus > 599) headStatus = 200;
    String commit = f[1];
    String etag = f[2];
    String size = f[3];
    byte[] revision = f[4].getBytes(StandardCharsets.ISO_8859_1);
    ANSWERS.set(new Answers(revision, headStatus, safeHeader(commit), safeHeader(etag), safeHeader(size), file));
    Path root = Invariants.freshDir("hub");
    Path cache = root.resolve("cache");
    HubClient client = HubClient.builder(java.util.Map.of()).endpoint("http://127.0.0.1:" + port()).cacheDir(cache)
        .timeout(Duration.ofSeconds(2)).stallTimeout(Duration.ofSeconds(2)).retryBudget(Duration.ofSeconds(1))
        .retries(0, Duration.ZERO).build();
    // a message names the repository, or a file of its cache folder (models--org--model/...)
    Invariants.check(null, "org/model|models--org--model", () -> {
      Path snapshot = client.snapshot("org/model", "main", FileFilter.pipeline(null));
      if (!snapshot.toAbsolutePath().normalize().startsWith(cache.toAbsolutePath().normalize())) {
        throw new AssertionError("snapshot outside the cache: " + snapshot);
      }
    }, HubException.class, CheckpointException.class);
    for (String p : Invariants.listing(root)) {
      if (!p.isEmpty() && !p.equals("cache") && !p.startsWith("cache/")) throw new AssertionError("wrote " + p);
    }
  }

  private static int indexOf(byte[] b, int from) {
    for (int i = from; i < b.length; i++) if (b[i] == 0) return i;
    return -1;
  }

  /** Header values the JDK server can send (it refuses control characters). */
  private static String safeHeader(String v) {
    return v.replaceAll("[\\x00-\\x1f\\x7f]", "");
  }
}
