package marigold4j.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A headless Chromium driven over the Chrome DevTools Protocol with the JDK's own WebSocket client (no driver
 * library): launch with a fresh profile, open a page, evaluate scripts, set a file input, take screenshots.
 */
final class Chromium implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);

  private final Process process;
  private final Path profile;
  private final WebSocket socket;
  private final AtomicInteger ids = new AtomicInteger();
  private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();

  private Chromium(Process process, Path profile, WebSocket socket) {
    this.process = process;
    this.profile = profile;
    this.socket = socket;
  }

  /** The browser binary: {@code $CHROME_BIN}, else chromium / chromium-browser / google-chrome on the PATH. */
  static Optional<Path> binary() {
    String env = System.getenv("CHROME_BIN");
    if (env != null && Files.isExecutable(Path.of(env))) return Optional.of(Path.of(env));
    String path = System.getenv().getOrDefault("PATH", "");
    for (String name : List.of("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")) {
      for (String dir : path.split(File.pathSeparator)) {
        if (dir.isEmpty()) continue;
        Path p = Path.of(dir, name);
        if (Files.isExecutable(p)) return Optional.of(p);
      }
    }
    return Optional.empty();
  }

  /** Starts a headless browser with a new profile folder under {@code workDir} (removed on close). */
  static Chromium launch(Path binary, Path workDir) throws IOException, InterruptedException {
    Files.createDirectories(workDir);
    Path profile = Files.createTempDirectory(workDir, "chromium-profile-");
    Path log = workDir.resolve("chromium.log");
    Process p = new ProcessBuilder(binary.toString(), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
        "--no-default-browser-check", "--disable-dev-shm-usage", "--force-color-profile=srgb",
        "--remote-debugging-port=0", "--user-data-dir=" + profile, "about:blank")
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    // Chromium writes the port it chose (and the browser's WebSocket path) into the profile folder
    Path active = profile.resolve("DevToolsActivePort");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    List<String> lines = List.of();
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) throw new IOException("chromium exited with " + p.exitValue() + "; see " + log);
      if (Files.exists(active)) {
        lines = Files.readAllLines(active);
        if (lines.size() >= 2) break;
      }
      Thread.sleep(50);
    }
    if (lines.size() < 2) {
      p.destroyForcibly();
      throw new IOException("chromium did not open its DevTools port in 60 s; see " + log);
    }
    URI ws = URI.create("ws://127.0.0.1:" + lines.get(0).trim() + lines.get(1).trim());
    Chromium[] self = new Chromium[1];
    WebSocket socket = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(20))
        .buildAsync(ws, new WebSocket.Listener() {
          private final StringBuilder message = new StringBuilder();

          @Override
          public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            message.append(data);
            if (last) {
              String text = message.toString();
              message.setLength(0);
              while (self[0] == null) Thread.onSpinWait();
              self[0].receive(text);
            }
            webSocket.request(1);
            return null;
          }
        }).join();
    self[0] = new Chromium(p, profile, socket);
    return self[0];
  }

  private void receive(String text) {
    try {
      JsonNode m = JSON.readTree(text);
      if (m.has("id")) {
        CompletableFuture<JsonNode> f = pending.remove(m.get("id").asInt());
        if (f != null) f.complete(m);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Sends a command (to the browser, or to a page's session) and returns its result. */
  JsonNode call(String sessionId, String method, Map<String, ?> params) {
    int id = ids.incrementAndGet();
    ObjectNode msg = JSON.createObjectNode();
    msg.put("id", id);
    msg.put("method", method);
    msg.set("params", JSON.valueToTree(params));
    if (sessionId != null) msg.put("sessionId", sessionId);
    CompletableFuture<JsonNode> reply = new CompletableFuture<>();
    pending.put(id, reply);
    try {
      socket.sendText(msg.toString(), true).join();
      JsonNode r = reply.get(CALL_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      if (r.has("error")) throw new IllegalStateException(method + " failed: " + r.get("error"));
      return r.path("result");
    } catch (Exception e) {
      if (e instanceof IllegalStateException ise) throw ise;
      throw new IllegalStateException(method + " failed: " + e, e);
    }
  }

  /** Opens a new tab. */
  Page newPage(int width, int height) {
    String target = call(null, "Target.createTarget", Map.of("url", "about:blank")).path("targetId").asText();
    String session = call(null, "Target.attachToTarget", Map.of("targetId", target, "flatten", true))
        .path("sessionId").asText();
    Page page = new Page(session);
    call(session, "Emulation.setDeviceMetricsOverride", Map.of("width", width, "height", height,
        "deviceScaleFactor", 1, "mobile", false));
    return page;
  }

  /** One tab, addressed through its flat-mode session. */
  final class Page {
    private final String session;

    private Page(String session) {
      this.session = session;
    }

    void navigate(URI uri) {
      call(session, "Page.navigate", Map.of("url", uri.toString()));
    }

    /** Evaluates a script expression (awaiting a promise) and returns its JSON value. */
    JsonNode eval(String expression) {
      JsonNode r = call(session, "Runtime.evaluate", Map.of("expression", expression, "awaitPromise", true,
          "returnByValue", true));
      if (r.has("exceptionDetails")) throw new IllegalStateException("script failed: " + r.get("exceptionDetails"));
      return r.path("result").path("value");
    }

    /** Waits until the expression is true. */
    void waitFor(String expression, Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!eval("!!(" + expression + ")").asBoolean()) {
        if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + expression);
        Thread.sleep(50);
      }
    }

    /** Puts a file into an {@code <input type=file>} as a user's choice would (change event included). */
    void setFile(String elementId, Path file) {
      JsonNode r = call(session, "Runtime.evaluate", Map.of("expression", "document.getElementById('" + elementId
          + "')"));
      String objectId = r.path("result").path("objectId").asText();
      call(session, "DOM.setFileInputFiles", Map.of("files", List.of(file.toAbsolutePath().toString()),
          "objectId", objectId));
    }

    /** A PNG screenshot of the viewport. */
    byte[] screenshot() {
      return Base64.getDecoder().decode(call(session, "Page.captureScreenshot", Map.of("format", "png"))
          .path("data").asText());
    }
  }

  @Override
  public void close() throws IOException, InterruptedException {
    try {
      call(null, "Browser.close", Map.of());
    } catch (IllegalStateException e) {
      // already gone
    }
    if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    socket.abort();
    try (Stream<Path> files = Files.walk(profile)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }
}
