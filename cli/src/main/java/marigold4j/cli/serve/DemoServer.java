package marigold4j.cli.serve;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import marigold4j.cli.serve.ServedModel.Output;
import marigold4j.estimator.NonFiniteOutputException;
import marigold4j.estimator.OutputFormat;
import marigold4j.estimator.OutputFormats;
import marigold4j.image.ImageInput;
import marigold4j.image.PilImage;
import org.bytedeco.javacpp.PointerScope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code marigold4j serve}'s HTTP service on the JDK's built-in server: the demo page and the JSON API. This class
 * holds the lifecycle, the routing and the prediction flow; {@link PredictForm} reads and checks a request,
 * {@link ModelWorker} queues the model's work, {@link ResultStore} keeps results for their links, {@link ApiViews}
 * builds the JSON documents, {@link HttpIo} reads and writes the wire.
 *
 * <ul>
 *   <li>{@code GET /}: the single page (no external resources);
 *   <li>{@code POST /api/predict}: multipart {@code image} plus optional {@code model}, {@code task}
 *       (depth|normals), {@code processing_res}, {@code ensemble_size}, {@code denoising_steps}, {@code seed},
 *       {@code noise}, {@code domain}, {@code format} (json or a file kind of the output registry: png16, colored,
 *       npy; also a query parameter, or chosen from {@code Accept}); answers JSON with download links, or the file;
 *   <li>{@code GET /api/results/<id>/<kind>}: a finished prediction's files (kept in a bounded cache);
 *   <li>{@code GET /api/health}, {@code GET /api/models}.
 * </ul>
 *
 * <p>Errors are JSON {@code {"error": message, "status": code}}: 400 bad fields, 404 unknown path or result, 405 wrong
 * method, 413 upload or image too large, 415 not multipart or not a PNG/JPEG, 503 queue full (with
 * {@code Retry-After}). Requests never name files on the server.
 */
public final class DemoServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DemoServer.class);

  /**
   * Service limits.
   *
   * @param host address to bind (loopback unless the operator says otherwise)
   * @param port TCP port; 0 = any free one
   * @param maxUploadBytes largest image file accepted (413 above)
   * @param maxPixels largest image (width x height) accepted (413 above)
   * @param maxProcessingRes largest processing resolution a request may ask for; also the largest long edge a
   *     native-resolution ({@code processing_res 0}) request may have
   * @param queueCapacity requests that may wait for the model (503 beyond)
   * @param maxResults finished results kept for their download links
   * @param maxResultBytes bytes those results may hold together
   * @param requestTimeoutSeconds the time a client may take to send its request's headers and body (408 after), and
   *     the longest it may leave its response unread (disconnected after)
   * @param maxRequestBytes the memory one request may take (413 above)
   * @param maxWork the work one request may ask for (422 above)
   * @param headerTimeoutSeconds the time a client may take to send its request's headers (408 after; at most the
   *     request timeout applies)
   * @param maxConnections open connections at most: when full, the connection that has been receiving its request the
   *     longest is dropped (503) to make room; when all are past receiving, the newcomer gets 503
   */
  public record Config(String host, int port, long maxUploadBytes, long maxPixels, int maxProcessingRes,
      int queueCapacity, int maxResults, long maxResultBytes, int requestTimeoutSeconds, long maxRequestBytes,
      double maxWork, int headerTimeoutSeconds, int maxConnections) {
    public Config {
      Objects.requireNonNull(host, "host");
      if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be 0..65535, got " + port);
      if (maxUploadBytes < 1) throw new IllegalArgumentException("upload limit must be positive");
      if (maxPixels < 1) throw new IllegalArgumentException("pixel limit must be positive");
      if (maxProcessingRes < 8) throw new IllegalArgumentException("processing resolution limit must be >= 8");
      if (queueCapacity < 1) throw new IllegalArgumentException("queue size must be >= 1, got " + queueCapacity);
      if (maxResults < 1) throw new IllegalArgumentException("result cache must hold >= 1 result");
      if (requestTimeoutSeconds < 1) {
        throw new IllegalArgumentException("request timeout must be >= 1 s, got " + requestTimeoutSeconds);
      }
      if (maxRequestBytes < 1) throw new IllegalArgumentException("request memory budget must be positive");
      if (!(maxWork > 0)) throw new IllegalArgumentException("work budget must be positive, got " + maxWork);
      if (headerTimeoutSeconds < 1) {
        throw new IllegalArgumentException("header timeout must be >= 1 s, got " + headerTimeoutSeconds);
      }
      if (maxConnections < 2) throw new IllegalArgumentException("connection cap must be >= 2, got " + maxConnections);
    }

    /**
     * The defaults of {@code marigold4j serve}: loopback, port 7860, 20 MB uploads, 25 MP, 2048 px, 16 queued, 30 s
     * to send a request, 10 s to send its headers, 64 connections.
     */
    public static Config defaults() {
      return new Config("127.0.0.1", 7860, 20L << 20, 25_000_000L, 2048, 16, 64, 1L << 30, 30,
          marigold4j.estimator.WorkBudget.defaultRequestBytes(), marigold4j.estimator.WorkBudget.DEFAULT_MAX_WORK, 10,
          64);
    }

    public Config withRequestTimeoutSeconds(int v) {
      return new Config(host, port, maxUploadBytes, maxPixels, maxProcessingRes, queueCapacity, maxResults,
          maxResultBytes, v, maxRequestBytes, maxWork, headerTimeoutSeconds, maxConnections);
    }

    public Config withHost(String v) {
      return new Config(v, port, maxUploadBytes, maxPixels, maxProcessingRes, queueCapacity, maxResults,
          maxResultBytes, requestTimeoutSeconds, maxRequestBytes, maxWork, headerTimeoutSeconds, maxConnections);
    }

    /** The memory one request may take (activations, not the weights). */
    public Config withMaxRequestBytes(long v) {
      return new Config(host, port, maxUploadBytes, maxPixels, maxProcessingRes, queueCapacity, maxResults,
          maxResultBytes, requestTimeoutSeconds, v, maxWork, headerTimeoutSeconds, maxConnections);
    }

    /** The work one request may ask for, in processing megapixels x ensemble members x (steps + 2). */
    public Config withMaxWork(double v) {
      return new Config(host, port, maxUploadBytes, maxPixels, maxProcessingRes, queueCapacity, maxResults,
          maxResultBytes, requestTimeoutSeconds, maxRequestBytes, v, headerTimeoutSeconds, maxConnections);
    }

    public Config withPort(int v) {
      return new Config(host, v, maxUploadBytes, maxPixels, maxProcessingRes, queueCapacity, maxResults,
          maxResultBytes, requestTimeoutSeconds, maxRequestBytes, maxWork, headerTimeoutSeconds, maxConnections);
    }

    public Config withMaxUploadBytes(long v) {
      return new Config(host, port, v, maxPixels, maxProcessingRes, queueCapacity, maxResults, maxResultBytes,
          requestTimeoutSeconds, maxRequestBytes, maxWork, headerTimeoutSeconds, maxConnections);
    }

    public Config withMaxPixels(long v) {
      return new Config(host, port, maxUploadBytes, v, maxProcessingRes, queueCapacity, maxResults, maxResultBytes,
          requestTimeoutSeconds, maxRequestBytes, maxWork, headerTimeoutSeconds, maxConnections);
    }

    public Config withMaxProcessingRes(int v) {
      return new Config(host, port, maxUploadBytes, maxPixels, v, queueCapacity, maxResults, maxResultBytes,
          requestTimeoutSeconds, maxRequestBytes, maxWork, headerTimeoutSeconds, maxConnections);
    }

    /** Seconds from connecting until a request's headers must have arrived (408 after). */
    public Config withHeaderTimeoutSeconds(int v) {
      return new Config(host, port, maxUploadBytes, maxPixels, maxProcessingRes, queueCapacity, maxResults,
          maxResultBytes, requestTimeoutSeconds, maxRequestBytes, maxWork, v, maxConnections);
    }

    /** Open connections at most; when full, the slowest incoming request is dropped to make room. */
    public Config withMaxConnections(int v) {
      return new Config(host, port, maxUploadBytes, maxPixels, maxProcessingRes, queueCapacity, maxResults,
          maxResultBytes, requestTimeoutSeconds, maxRequestBytes, maxWork, headerTimeoutSeconds, v);
    }

    public Config withQueueCapacity(int v) {
      return new Config(host, port, maxUploadBytes, maxPixels, maxProcessingRes, v, maxResults, maxResultBytes,
          requestTimeoutSeconds, maxRequestBytes, maxWork, headerTimeoutSeconds, maxConnections);
    }

    public Config withMaxResults(int v) {
      return new Config(host, port, maxUploadBytes, maxPixels, maxProcessingRes, queueCapacity, v, maxResultBytes,
          requestTimeoutSeconds, maxRequestBytes, maxWork, headerTimeoutSeconds, maxConnections);
    }
  }

  private final List<ServedModel> models;
  private final Config config;
  private final HttpServer server;
  private final FrontDoor door;
  private final ThreadPoolExecutor httpThreads;
  private final ModelWorker worker;
  private final ResultStore results;
  private final byte[] page;
  private final SecureRandom seeds = new SecureRandom();
  private final AtomicLong averageJobMillis = new AtomicLong(5000);
  private final AtomicInteger served = new AtomicInteger();

  private DemoServer(List<ServedModel> models, Config config) throws IOException {
    this.models = List.copyOf(models);
    this.config = config;
    this.worker = new ModelWorker(config.queueCapacity());
    this.results = new ResultStore(config.maxResults(), config.maxResultBytes());
    this.page = HttpIo.resource("index.html");
    // enough request threads for every queued job to wait on its own, plus a few for the page, health and downloads
    int threads = config.queueCapacity() + 8;
    AtomicInteger n = new AtomicInteger();
    ThreadFactory factory = r -> {
      Thread t = new Thread(r, "marigold4j-http-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
    this.httpThreads = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
        factory);
    httpThreads.allowCoreThreadTimeOut(true);
    applyRequestDeadline(config.requestTimeoutSeconds());
    // the service listens on loopback only; clients reach it through the front door, which receives each request
    // whole within its deadlines first
    this.server = HttpServer.create(FrontDoor.loopback(), 64);
    server.createContext("/", this::handle);
    server.setExecutor(httpThreads);
    server.start();
    InetSocketAddress service = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getAddress().getPort());
    FrontDoor.Limits limits = new FrontDoor.Limits(config.maxConnections(),
        Duration.ofSeconds(Math.min(config.headerTimeoutSeconds(), config.requestTimeoutSeconds())),
        Duration.ofSeconds(config.requestTimeoutSeconds()), 64 * 1024,
        Math.min(Integer.MAX_VALUE - 64, config.maxUploadBytes() + PredictForm.FORM_OVERHEAD),
        PredictForm.tooLarge(config));
    try {
      this.door = FrontDoor.open(new InetSocketAddress(config.host(), config.port()), service, limits);
    } catch (IOException e) {
      server.stop(0);
      httpThreads.shutdownNow();
      throw e;
    }
  }

  /** The JDK server's property for the time a request's headers and body may take to arrive (seconds). */
  static final String REQUEST_DEADLINE_PROPERTY = "sun.net.httpserver.maxReqTime";

  /**
   * Bounds the time a client may take to send a request, so that clients sending their headers byte by byte, or
   * declaring a body longer than what they send, cannot hold the server's threads (each waits on one of them); the
   * JDK server then closes such a connection. The JDK server reads this setting once per JVM, when its first server
   * starts: an operator's or test's own {@code -Dsun.net.httpserver.maxReqTime} wins, and a JVM that started a JDK
   * server before keeps what it had.
   */
  private static void applyRequestDeadline(int seconds) {
    if (System.getProperty(REQUEST_DEADLINE_PROPERTY) == null) {
      System.setProperty(REQUEST_DEADLINE_PROPERTY, Integer.toString(seconds));
    }
  }

  /**
   * Starts serving the models (their ids must be unique). The server does not own the models: close them after
   * {@link #close()}.
   *
   * @throws UncheckedIOException when the address cannot be bound (e.g. the port is in use)
   */
  public static DemoServer start(List<ServedModel> models, Config config) {
    if (models.isEmpty()) throw new IllegalArgumentException("no model to serve");
    if (models.stream().map(ServedModel::id).distinct().count() != models.size()) {
      throw new IllegalArgumentException("model ids must be unique");
    }
    try {
      DemoServer s = new DemoServer(models, config);
      LOG.info("serving {} model(s) on {}", models.size(), s.uri());
      return s;
    } catch (java.net.BindException e) {
      throw new IllegalArgumentException("cannot listen on " + config.host() + ":" + config.port() + ": "
          + e.getMessage() + " (is another server using the port? try --port)");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the server on " + config.host() + ":" + config.port() + ": "
          + e.getMessage(), e);
    }
  }

  /** The port actually bound (useful with port 0). */
  public int port() {
    return door.port();
  }

  /** The page's address, e.g. {@code http://127.0.0.1:7860/}. */
  public URI uri() {
    String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
    return URI.create("http://" + host + ":" + port() + "/");
  }

  /** Stops accepting requests, lets a running prediction finish, and stops the threads. */
  @Override
  public void close() {
    door.close();
    server.stop(0);
    worker.close();
    httpThreads.shutdownNow();
  }

  // ---- routing -------------------------------------------------------------------------------------------------

  private void handle(HttpExchange ex) {
    long start = System.nanoTime();
    int status;
    // one request per connection: the front door received it whole and passes the answer back until we close
    ex.getResponseHeaders().set("Connection", "close");
    try {
      status = route(ex);
    } catch (HttpError e) {
      status = HttpIo.sendError(ex, e);
    } catch (RuntimeException e) {
      LOG.error("{} {} failed", ex.getRequestMethod(), ex.getRequestURI().getRawPath(), e);
      status = HttpIo.sendError(ex, new HttpError(500, "internal error: " + e));
    } finally {
      ex.close();
    }
    LOG.info("{} {} {} {} ms", ex.getRequestMethod(), ex.getRequestURI().getRawPath(), status,
        (System.nanoTime() - start) / 1_000_000);
  }

  private int route(HttpExchange ex) {
    String path = ex.getRequestURI().getRawPath();
    String method = ex.getRequestMethod();
    switch (path) {
      case "/", "/index.html" -> {
        allow(method, "GET");
        return HttpIo.send(ex, 200, "text/html; charset=utf-8", page, Map.of("Content-Security-Policy",
            "default-src 'self'; img-src 'self' blob: data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"));
      }
      case "/api/health" -> {
        allow(method, "GET");
        return HttpIo.sendJson(ex, 200, ApiViews.health(models, worker, served.get()));
      }
      case "/api/models" -> {
        allow(method, "GET");
        return HttpIo.sendJson(ex, 200, ApiViews.models(models, config));
      }
      case "/api/predict" -> {
        allow(method, "POST");
        return predict(ex);
      }
      default -> {
        if (path.startsWith("/api/results/")) {
          allow(method, "GET");
          return download(ex, path.substring("/api/results/".length()));
        }
        throw new HttpError(404, "no such page: " + path);
      }
    }
  }

  private static void allow(String method, String allowed) {
    if (method.equals(allowed) || (allowed.equals("GET") && method.equals("HEAD"))) return;
    throw new HttpError(405, method + " is not allowed here (use " + allowed + ")",
        Map.of("Allow", allowed.equals("GET") ? "GET, HEAD" : allowed));
  }

  // ---- GET /api/results/<id>/<kind> --------------------------------------------------------------------------

  private int download(HttpExchange ex, String rest) {
    String[] p = rest.split("/", -1);
    if (p.length != 2 || !OutputFormats.kinds().contains(p[1])) {
      throw new HttpError(404, "no such page: /api/results/" + rest + " (files are "
          + String.join(", ", OutputFormats.kinds()) + ")");
    }
    ResultStore.Entry e = results.get(p[0]);
    if (e == null) {
      throw new HttpError(404, "no result '" + p[0] + "': unknown, or no longer kept (the server keeps the last "
          + config.maxResults() + " results)");
    }
    return sendFile(ex, e, p[1], Map.of());
  }

  private static int sendFile(HttpExchange ex, ResultStore.Entry e, String kind, Map<String, String> extra) {
    Output out = e.output();
    byte[] data = out.files().get(kind);
    OutputFormat format = OutputFormats.find(out.task(), kind).orElse(null);
    if (data == null || format == null) {
      throw new HttpError(404, "a " + out.task().cliName() + " prediction has no " + kind + " file (it has "
          + String.join(", ", out.files().keySet()) + ")");
    }
    // the names predict writes: <name>_pred.npy, <name>_pred.png (16-bit), <name>_pred_colored.png
    String file = e.baseName() + format.suffix();
    Map<String, String> headers = new LinkedHashMap<>(extra);
    headers.put("Content-Disposition", "attachment; filename=\"" + file + "\"");
    headers.put("Cache-Control", "private, max-age=3600");
    return HttpIo.send(ex, 200, format.contentType(), data, headers);
  }

  // ---- POST /api/predict ---------------------------------------------------------------------------------------

  private int predict(HttpExchange ex) {
    PredictForm.Request r = PredictForm.read(ex, models, config, seeds);
    long queued = System.nanoTime();
    long retryAfter = (worker.waiting() + 1) * averageJobMillis.get() / 1000 + 1;
    Future<Timed> job = worker.submit(() -> {
      long t0 = System.nanoTime();
      try (PointerScope scope = new PointerScope()) {
        PilImage pil = ImageInput.read(r.image(), r.uploadName());
        Output o = r.model().predict(pil, r.task(), r.settings(), r.seed(), r.geometry(), r.reference());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        averageJobMillis.set((averageJobMillis.get() * 3 + ms) / 4);
        return new Timed(o, ms);
      }
    }, retryAfter);
    Timed done = await(job);
    Output out = done.output();
    long totalMs = (System.nanoTime() - queued) / 1_000_000;
    served.incrementAndGet();
    ResultStore.Entry entry = new ResultStore.Entry(out, r.baseName());
    String id = results.put(entry);
    Map<String, String> timing = Map.of("X-Processing-Ms", Long.toString(done.millis()), "X-Seed",
        Long.toString(r.seed()), "X-Result-Id", id);
    if (!r.format().equals("json")) return sendFile(ex, entry, r.format(), timing);
    return HttpIo.sendJson(ex, 200, ApiViews.prediction(id, r, out, done.millis(), totalMs));
  }

  /** A prediction and the time the model thread spent on it (decoding, inference, encoding). */
  private record Timed(Output output, long millis) {}

  private static Timed await(Future<Timed> job) {
    try {
      return job.get();
    } catch (InterruptedException e) {
      job.cancel(true);
      Thread.currentThread().interrupt();
      throw new HttpError(503, "the server is shutting down");
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof HttpError h) throw h;
      if (c instanceof NonFiniteOutputException n) throw new HttpError(500, n.getMessage());
      // bad settings for this model, or an image that turned out corrupt while decoding
      if (c instanceof IllegalArgumentException) throw new HttpError(400, c.getMessage());
      if (c instanceof RuntimeException re) throw re;
      throw new IllegalStateException(c);
    }
  }
}
