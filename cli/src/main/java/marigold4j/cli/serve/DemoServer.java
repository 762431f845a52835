package marigold4j.cli.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
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
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import marigold4j.estimator.OutputFormat;
import marigold4j.estimator.OutputFormats;
import marigold4j.cli.serve.ServedModel.Output;
import marigold4j.cli.serve.ServedModel.Settings;
import marigold4j.image.ImageInput;
import marigold4j.image.PilImage;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;
import org.bytedeco.javacpp.PointerScope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code marigold4j serve}'s HTTP service on the JDK's built-in server: the demo page and the JSON API.
 *
 * <ul>
 *   <li>{@code GET /}: the single page (no external resources);
 *   <li>{@code POST /api/predict}: multipart {@code image} plus optional {@code model}, {@code task}
 *       (depth|normals), {@code processing_res}, {@code ensemble_size}, {@code denoising_steps}, {@code seed},
 *       {@code noise}, {@code domain}, {@code format} (json|png16|colored|npy; also a query parameter, or chosen from
 *       {@code Accept}); answers JSON with download links, or the file itself;
 *   <li>{@code GET /api/results/<id>/png16|colored|npy}: a finished prediction's files (kept in a bounded cache);
 *   <li>{@code GET /api/health}, {@code GET /api/models}.
 * </ul>
 *
 * <p>Errors are JSON {@code {"error": message, "status": code}}: 400 bad fields, 404 unknown path or result, 405 wrong
 * method, 413 upload or image too large, 415 not multipart or not a PNG/JPEG, 503 queue full (with
 * {@code Retry-After}). Requests never name files on the server.
 */
public final class DemoServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DemoServer.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Generous ceilings for request fields (the checkpoint's defaults are far below). */
  static final int MAX_ENSEMBLE_SIZE = 20;
  static final int MAX_DENOISING_STEPS = 100;
  /** {@code json} and every file kind of the output registry ({@code png16}, {@code colored}, {@code npy}, ...). */
  private static final List<String> FORMATS = java.util.stream.Stream.concat(java.util.stream.Stream.of("json"),
      OutputFormats.kinds().stream()).toList();
  /** Room for the multipart framing and text fields around the image. */
  private static final long FORM_OVERHEAD = 64 * 1024;

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
   */
  public record Config(String host, int port, long maxUploadBytes, long maxPixels, int maxProcessingRes,
      int queueCapacity, int maxResults, long maxResultBytes) {
    public Config {
      Objects.requireNonNull(host, "host");
      if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be 0..65535, got " + port);
      if (maxUploadBytes < 1) throw new IllegalArgumentException("upload limit must be positive");
      if (maxPixels < 1) throw new IllegalArgumentException("pixel limit must be positive");
      if (maxProcessingRes < 8) throw new IllegalArgumentException("processing resolution limit must be >= 8");
      if (queueCapacity < 1) throw new IllegalArgumentException("queue size must be >= 1, got " + queueCapacity);
      if (maxResults < 1) throw new IllegalArgumentException("result cache must hold >= 1 result");
    }

    /** The defaults of {@code marigold4j serve}: loopback, port 7860, 20 MB uploads, 25 MP, 2048 px, 16 queued. */
    public static Config defaults() {
      return new Config("127.0.0.1", 7860, 20L << 20, 25_000_000L, 2048, 16, 64, 1L << 30);
    }

    public Config withHost(String v) {
      return new Config(v, port, maxUploadBytes, maxPixels, maxProcessingRes, queueCapacity, maxResults,
          maxResultBytes);
    }

    public Config withPort(int v) {
      return new Config(host, v, maxUploadBytes, maxPixels, maxProcessingRes, queueCapacity, maxResults,
          maxResultBytes);
    }

    public Config withMaxUploadBytes(long v) {
      return new Config(host, port, v, maxPixels, maxProcessingRes, queueCapacity, maxResults, maxResultBytes);
    }

    public Config withMaxPixels(long v) {
      return new Config(host, port, maxUploadBytes, v, maxProcessingRes, queueCapacity, maxResults, maxResultBytes);
    }

    public Config withMaxProcessingRes(int v) {
      return new Config(host, port, maxUploadBytes, maxPixels, v, queueCapacity, maxResults, maxResultBytes);
    }

    public Config withQueueCapacity(int v) {
      return new Config(host, port, maxUploadBytes, maxPixels, maxProcessingRes, v, maxResults, maxResultBytes);
    }

    public Config withMaxResults(int v) {
      return new Config(host, port, maxUploadBytes, maxPixels, maxProcessingRes, queueCapacity, v, maxResultBytes);
    }
  }

  private final List<ServedModel> models;
  private final Config config;
  private final HttpServer server;
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
    this.page = resource("index.html");
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
    this.server = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 64);
    server.createContext("/", this::handle);
    server.setExecutor(httpThreads);
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
      s.server.start();
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
    return server.getAddress().getPort();
  }

  /** The page's address, e.g. {@code http://127.0.0.1:7860/}. */
  public URI uri() {
    String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
    return URI.create("http://" + host + ":" + port() + "/");
  }

  /** Stops accepting requests, lets a running prediction finish, and stops the threads. */
  @Override
  public void close() {
    server.stop(0);
    worker.close();
    httpThreads.shutdownNow();
  }

  // ---- routing -------------------------------------------------------------------------------------------------

  private void handle(HttpExchange ex) {
    long start = System.nanoTime();
    int status;
    try {
      status = route(ex);
    } catch (HttpError e) {
      status = sendError(ex, e);
    } catch (RuntimeException e) {
      LOG.error("{} {} failed", ex.getRequestMethod(), ex.getRequestURI().getRawPath(), e);
      status = sendError(ex, new HttpError(500, "internal error: " + e));
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
        return send(ex, 200, "text/html; charset=utf-8", page, Map.of("Content-Security-Policy",
            "default-src 'self'; img-src 'self' blob: data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"));
      }
      case "/api/health" -> {
        allow(method, "GET");
        return sendJson(ex, 200, health());
      }
      case "/api/models" -> {
        allow(method, "GET");
        return sendJson(ex, 200, modelList());
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

  // ---- GET routes ----------------------------------------------------------------------------------------------

  private ObjectNode health() {
    ObjectNode o = JSON.createObjectNode();
    o.put("status", "ok");
    ArrayNode ids = o.putArray("models");
    models.forEach(m -> ids.add(m.id()));
    ObjectNode q = o.putObject("queue");
    q.put("waiting", worker.waiting());
    q.put("capacity", worker.capacity());
    q.put("busy", worker.busy());
    o.put("predictions_served", served.get());
    return o;
  }

  private ObjectNode modelList() {
    ObjectNode o = JSON.createObjectNode();
    ArrayNode list = o.putArray("models");
    for (ServedModel m : models) {
      ObjectNode mo = list.addObject();
      mo.put("id", m.id());
      mo.put("family", m.family());
      ArrayNode tasks = mo.putArray("tasks");
      ObjectNode defaults = mo.putObject("defaults");
      for (Modality t : m.tasks()) {
        tasks.add(t.cliName());
        defaults.set(t.cliName(), settingsJson(m.defaults(t), m.hasDomains()));
      }
      if (m.hasDomains()) {
        ArrayNode d = mo.putArray("domains");
        for (Domain dom : Domain.values()) d.add(dom.id());
      }
    }
    ObjectNode limits = o.putObject("limits");
    limits.put("max_upload_bytes", config.maxUploadBytes());
    limits.put("max_pixels", config.maxPixels());
    limits.put("max_processing_res", config.maxProcessingRes());
    limits.put("max_ensemble_size", MAX_ENSEMBLE_SIZE);
    limits.put("max_denoising_steps", MAX_DENOISING_STEPS);
    return o;
  }

  private static ObjectNode settingsJson(Settings s, boolean domains) {
    ObjectNode o = JSON.createObjectNode();
    o.put("processing_res", s.processingRes());
    o.put("ensemble_size", s.ensembleSize());
    o.put("denoising_steps", s.denoisingSteps());
    o.put("noise", s.noise().name().toLowerCase(Locale.ROOT));
    if (domains && s.domain() != null) o.put("domain", s.domain().id());
    return o;
  }

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

  private int sendFile(HttpExchange ex, ResultStore.Entry e, String kind, Map<String, String> extra) {
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
    return send(ex, 200, format.contentType(), data, headers);
  }

  // ---- POST /api/predict ---------------------------------------------------------------------------------------

  private int predict(HttpExchange ex) {
    String boundary = Multipart.boundary(ex.getRequestHeaders().getFirst("Content-Type"));
    byte[] body = readBody(ex, config.maxUploadBytes() + FORM_OVERHEAD);
    Map<String, Multipart.Part> form = Multipart.parse(body, boundary);
    body = null;                                           // the parts hold copies; let the body go
    Multipart.Part image = form.get("image");
    if (image == null || image.filename() == null) {
      throw new HttpError(400, "missing the image: send it as the multipart file field 'image'");
    }
    if (image.data().length == 0) throw new HttpError(400, "the uploaded image is empty");
    if (image.data().length > config.maxUploadBytes()) throw tooLarge();
    String format = format(ex, form);
    ServedModel model = model(form);
    Modality task = task(form, model);
    if (!format.equals("json") && OutputFormats.find(task, format).isEmpty()) {
      throw new HttpError(400, "format " + format + " is not a file of a " + task.cliName() + " prediction (use "
          + String.join(" or ", OutputFormats.of(task).stream().map(OutputFormat::kind).toList()) + ")");
    }
    Settings s = settings(form, model, task);
    long seed = form.containsKey("seed") && !text(form, "seed").isEmpty() ? longField(form, "seed")
        : seeds.nextLong() >>> 32;                         // a short random seed, reported so a run can be repeated
    int[] size = probe(image.data());
    checkResolution(s, size);

    String uploadName = safeFileName(image.filename());
    String baseName = baseName(image.filename());
    byte[] data = image.data();
    long queued = System.nanoTime();
    long retryAfter = (worker.waiting() + 1) * averageJobMillis.get() / 1000 + 1;
    Future<Timed> job = worker.submit(() -> {
      long t0 = System.nanoTime();
      try (PointerScope scope = new PointerScope()) {
        PilImage pil = ImageInput.read(data, uploadName);
        Output o = model.predict(pil, task, s, seed);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        averageJobMillis.set((averageJobMillis.get() * 3 + ms) / 4);
        return new Timed(o, ms);
      }
    }, retryAfter);
    Timed done = await(job);
    Output out = done.output();
    long processingMs = done.millis();
    long totalMs = (System.nanoTime() - queued) / 1_000_000;
    served.incrementAndGet();
    ResultStore.Entry entry = new ResultStore.Entry(out, baseName);
    String id = results.put(entry);
    Map<String, String> timing = Map.of("X-Processing-Ms", Long.toString(processingMs), "X-Seed", Long.toString(seed),
        "X-Result-Id", id);
    if (!format.equals("json")) return sendFile(ex, entry, format, timing);
    ObjectNode o = JSON.createObjectNode();
    o.put("id", id);
    o.put("model", model.id());
    o.put("task", task.cliName());
    o.put("width", out.width());
    o.put("height", out.height());
    o.put("input_width", size[0]);
    o.put("input_height", size[1]);
    o.put("processing_ms", processingMs);
    o.put("total_ms", totalMs);
    o.put("seed", seed);
    o.set("settings", settingsJson(s, model.hasDomains()));
    ObjectNode links = o.putObject("links");
    String base = "/api/results/" + id + "/";
    for (String kind : out.files().keySet()) links.put(kind, base + kind);
    return sendJson(ex, 200, o);
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
      if (c instanceof marigold4j.estimator.NonFiniteOutputException n) throw new HttpError(500, n.getMessage());
      // bad settings for this model, or an image that turned out corrupt while decoding
      if (c instanceof IllegalArgumentException) throw new HttpError(400, c.getMessage());
      if (c instanceof RuntimeException r) throw r;
      throw new IllegalStateException(c);
    }
  }

  private String format(HttpExchange ex, Map<String, Multipart.Part> form) {
    String f = form.containsKey("format") ? text(form, "format") : query(ex, "format");
    if (f != null && !f.isEmpty()) {
      f = f.toLowerCase(Locale.ROOT);
      if (!FORMATS.contains(f)) {
        throw new HttpError(400, "unknown format '" + f + "' (use " + String.join(", ", FORMATS) + ")");
      }
      return f;
    }
    String accept = ex.getRequestHeaders().getFirst("Accept");
    if (accept == null || accept.contains("application/json") || accept.contains("*/*")) return "json";
    if (accept.contains("application/x-npy") || accept.contains("application/octet-stream")) return "npy";
    if (accept.contains("image/png")) return "colored";
    return "json";
  }

  private ServedModel model(Map<String, Multipart.Part> form) {
    String id = form.containsKey("model") ? text(form, "model") : "";
    Modality task = form.containsKey("task") && !text(form, "task").isEmpty() ? parseTask(text(form, "task")) : null;
    if (id.isEmpty()) {
      for (ServedModel m : models) if (task == null || m.tasks().contains(task)) return m;
      throw new HttpError(400, "no loaded model predicts " + task.cliName() + " (loaded: " + ids() + ")");
    }
    for (ServedModel m : models) if (m.id().equals(id)) return m;
    throw new HttpError(400, "unknown model '" + id + "' (loaded: " + ids() + ")");
  }

  private static Modality task(Map<String, Multipart.Part> form, ServedModel model) {
    if (!form.containsKey("task") || text(form, "task").isEmpty()) return model.tasks().get(0);
    Modality t = parseTask(text(form, "task"));
    if (!model.tasks().contains(t)) {
      throw new HttpError(400, "model '" + model.id() + "' does not predict " + t.cliName());
    }
    return t;
  }

  private static Modality parseTask(String s) {
    try {
      return Modality.parse(s);
    } catch (IllegalArgumentException e) {
      throw new HttpError(400, "unknown task '" + s + "' (use depth or normals)");
    }
  }

  private Settings settings(Map<String, Multipart.Part> form, ServedModel model, Modality task) {
    Settings d = model.defaults(task);
    int res = intField(form, "processing_res", d.processingRes(), 0, config.maxProcessingRes());
    int ens = intField(form, "ensemble_size", d.ensembleSize(), 1, MAX_ENSEMBLE_SIZE);
    int steps = intField(form, "denoising_steps", d.denoisingSteps(), 1, MAX_DENOISING_STEPS);
    NoiseType noise = d.noise();
    if (form.containsKey("noise") && !text(form, "noise").isEmpty()) {
      try {
        noise = NoiseType.parse(text(form, "noise"));
      } catch (IllegalArgumentException e) {
        throw new HttpError(400, e.getMessage());
      }
    }
    Domain domain = d.domain();
    if (form.containsKey("domain") && !text(form, "domain").isEmpty()) {
      if (!model.hasDomains()) throw new HttpError(400, "model '" + model.id() + "' takes no domain");
      try {
        domain = Domain.parse(text(form, "domain"));
      } catch (IllegalArgumentException e) {
        throw new HttpError(400, e.getMessage());
      }
    }
    return new Settings(res, ens, steps, noise, domain);
  }

  private void checkResolution(Settings s, int[] size) {
    if (s.processingRes() == 0 && Math.max(size[0], size[1]) > config.maxProcessingRes()) {
      throw new HttpError(400, "processing_res 0 (native resolution) is limited to images of at most "
          + config.maxProcessingRes() + " px on the long edge; this one is " + size[0] + "x" + size[1]
          + ": choose a processing_res");
    }
  }

  /** Width and height from the image header, before anything is decoded. */
  private int[] probe(byte[] data) {
    try (ImageInputStream in = new MemoryCacheImageInputStream(new java.io.ByteArrayInputStream(data))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) throw new HttpError(415, "the upload is not an image (PNG or JPEG expected)");
      ImageReader reader = readers.next();
      try {
        String format = reader.getFormatName().toLowerCase(Locale.ROOT);
        if (!format.equals("png") && !format.equals("jpeg")) {
          throw new HttpError(415, "unsupported image type '" + format + "' (PNG or JPEG expected)");
        }
        reader.setInput(in, true, true);
        int w = reader.getWidth(0);
        int h = reader.getHeight(0);
        if ((long) w * h > config.maxPixels()) {
          throw new HttpError(413, "image too large: " + w + "x" + h + " pixels (limit " + config.maxPixels()
              + " pixels)");
        }
        return new int[] {w, h};
      } finally {
        reader.dispose();
      }
    } catch (IOException e) {
      throw new HttpError(400, "cannot read the image header (corrupt or truncated): " + e.getMessage());
    }
  }

  private HttpError tooLarge() {
    return new HttpError(413, "upload too large (limit " + config.maxUploadBytes() + " bytes)");
  }

  /** The request body, at most {@code limit} bytes; a larger one is drained (up to a bound) and refused with 413. */
  private byte[] readBody(HttpExchange ex, long limit) {
    String declared = ex.getRequestHeaders().getFirst("Content-Length");
    if (declared != null) {
      try {
        if (Long.parseLong(declared.trim()) > limit) {
          drain(ex.getRequestBody(), limit);
          throw tooLarge();
        }
      } catch (NumberFormatException e) {
        throw new HttpError(400, "bad Content-Length");
      }
    }
    try (InputStream in = ex.getRequestBody()) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[64 * 1024];
      long total = 0;
      for (int n; (n = in.read(buf)) > 0; ) {
        total += n;
        if (total > limit) {
          drain(in, limit);
          throw tooLarge();
        }
        out.write(buf, 0, n);
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new HttpError(400, "cannot read the request body: " + e.getMessage());
    }
  }

  /**
   * Reads and drops the rest of an oversized body (up to about the limit again), so that the client, still sending,
   * receives the 413 rather than a reset connection; beyond that the connection is simply closed.
   */
  private static void drain(InputStream in, long limit) {
    byte[] buf = new byte[64 * 1024];
    long budget = Math.max(limit, 16L << 20);
    try {
      for (int n; budget > 0 && (n = in.read(buf)) > 0; ) budget -= n;
    } catch (IOException e) {
      // the client gave up; nothing to do
    }
  }

  // ---- helpers -------------------------------------------------------------------------------------------------

  private static String text(Map<String, Multipart.Part> form, String name) {
    return form.get(name).text().trim();
  }

  private static int intField(Map<String, Multipart.Part> form, String name, int dflt, int min, int max) {
    if (!form.containsKey(name) || text(form, name).isEmpty()) return dflt;
    String v = text(form, name);
    int x;
    try {
      x = Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new HttpError(400, name + " must be an integer, got '" + abbreviate(v) + "'");
    }
    if (x < min || x > max) throw new HttpError(400, name + " must be in " + min + ".." + max + ", got " + x);
    return x;
  }

  private static long longField(Map<String, Multipart.Part> form, String name) {
    String v = text(form, name);
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new HttpError(400, name + " must be an integer, got '" + abbreviate(v) + "'");
    }
  }

  private static String abbreviate(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }

  private static String query(HttpExchange ex, String key) {
    String q = ex.getRequestURI().getRawQuery();
    if (q == null) return null;
    for (String kv : q.split("&")) {
      int eq = kv.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? kv : kv.substring(0, eq), StandardCharsets.UTF_8);
      if (k.equals(key)) return eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
    }
    return null;
  }

  private String ids() {
    List<String> ids = new ArrayList<>();
    models.forEach(m -> ids.add(m.id()));
    return String.join(", ", ids);
  }

  /**
   * The stem of the download names: the upload's file name without folders or extension, restricted to safe
   * characters (it only ever appears in a Content-Disposition header).
   */
  static String baseName(String filename) {
    String n = safeFileName(filename);
    int dot = n.lastIndexOf('.');
    return dot > 0 ? n.substring(0, dot) : n;
  }

  /** The upload's file name without folders, restricted to safe characters; only used in messages and headers. */
  static String safeFileName(String filename) {
    String n = filename == null ? "" : filename;
    n = n.substring(Math.max(n.lastIndexOf('/'), n.lastIndexOf('\\')) + 1);
    n = n.replaceAll("[^A-Za-z0-9._-]", "_");
    if (n.length() > 100) n = n.substring(n.length() - 100);
    return n.isEmpty() || n.startsWith(".") ? "image" + n : n;
  }

  private static byte[] resource(String name) throws IOException {
    try (InputStream in = DemoServer.class.getResourceAsStream(name)) {
      if (in == null) throw new IOException("missing resource " + name);
      return in.readAllBytes();
    }
  }

  private int sendJson(HttpExchange ex, int status, ObjectNode body) {
    try {
      return send(ex, status, "application/json", JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(body),
          Map.of("Cache-Control", "no-store"));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private int sendError(HttpExchange ex, HttpError e) {
    ObjectNode o = JSON.createObjectNode();
    o.put("error", e.getMessage());
    o.put("status", e.status());
    ex.getResponseHeaders().putAll(toHeaders(e.headers()));
    try {
      return sendJson(ex, e.status(), o);
    } catch (RuntimeException sendFailed) {
      return e.status();                                   // headers already sent, or the client left
    }
  }

  private static Headers toHeaders(Map<String, String> m) {
    Headers h = new Headers();
    m.forEach(h::add);
    return h;
  }

  private static int send(HttpExchange ex, int status, String contentType, byte[] body, Map<String, String> headers) {
    Headers h = ex.getResponseHeaders();
    h.set("Content-Type", contentType);
    h.set("X-Content-Type-Options", "nosniff");
    headers.forEach(h::set);
    try {
      boolean head = ex.getRequestMethod().equals("HEAD");
      ex.sendResponseHeaders(status, head ? -1 : body.length == 0 ? -1 : body.length);
      if (!head && body.length > 0) {
        try (OutputStream out = ex.getResponseBody()) {
          out.write(body);
        }
      }
    } catch (IOException e) {
      LOG.debug("client went away: {}", e.getMessage());
    }
    return status;
  }
}
