package marigold4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import marigold4j.cli.serve.DemoServer;
import marigold4j.cli.serve.EstimatorServedModel;
import marigold4j.cli.serve.ServedModel;
import marigold4j.estimator.Detection;
import marigold4j.estimator.Estimators;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code marigold4j serve}: loads the checkpoints once and serves the demo page and the HTTP API until stopped
 * (Ctrl-C).
 */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Serve a web page and an HTTP API for depth / normals estimation (stop with Ctrl-C).",
        "  GET  /               the demo page: drop an image, compare, download",
        "  POST /api/predict    multipart 'image' (+ model, task, processing_res, ensemble_size, denoising_steps,",
        "                       seed, noise, domain, format=json|png16|colored|npy)",
        "  GET  /api/models     loaded models and their defaults;  GET /api/health  status and queue"})
public final class ServeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--checkpoint", paramLabel = "[TASK:]ID_OR_DIR",
      description = "Checkpoint folder (diffusers layout) or Hugging Face id; repeat to serve several. A Marigold "
          + "checkpoint predicts what its model_index.json says, else normals when its name contains 'normal', else "
          + "depth; prefix depth: or normals: to say it. GeoWizard checkpoints serve both. Default: "
          + PredictCommand.DEFAULT_CHECKPOINT)
  List<String> checkpoints = new ArrayList<>();

  @Option(names = "--host", paramLabel = "ADDRESS", defaultValue = "127.0.0.1",
      description = "Address to listen on; 0.0.0.0 exposes the server to the network. Default: ${DEFAULT-VALUE}.")
  String host;

  @Option(names = "--port", paramLabel = "N", defaultValue = "7860",
      description = "TCP port; 0 picks a free one. Default: ${DEFAULT-VALUE}.")
  int port;

  @Option(names = "--max-upload-mb", paramLabel = "MB", defaultValue = "20",
      description = "Largest image file accepted (larger: HTTP 413). Default: ${DEFAULT-VALUE}.")
  int maxUploadMb;

  @Option(names = "--max-megapixels", paramLabel = "MP", defaultValue = "25",
      description = "Largest image (width x height) accepted (larger: HTTP 413). Default: ${DEFAULT-VALUE}.")
  double maxMegapixels;

  @Option(names = "--max-processing-res", paramLabel = "PX", defaultValue = "2048",
      description = "Largest processing resolution a request may ask for, and the largest long edge of an image "
          + "processed at native resolution (processing_res 0). Default: ${DEFAULT-VALUE}.")
  int maxProcessingRes;

  @Option(names = "--request-timeout", paramLabel = "SECONDS", defaultValue = "30",
      description = "Time a client may take to send a request's headers and body (counted from connecting); slower "
          + "or stalled clients are answered 408 and disconnected, so they cannot hold the server's threads. Also "
          + "the longest a client may leave its answer unread. Default: ${DEFAULT-VALUE}.")
  int requestTimeout;

  @Option(names = "--header-timeout", paramLabel = "SECONDS", defaultValue = "10",
      description = "Time a client may take to send a request's headers (counted from connecting; 408 after). "
          + "Default: ${DEFAULT-VALUE}.")
  int headerTimeout;

  @Option(names = "--max-connections", paramLabel = "N", defaultValue = "64",
      description = "Open connections at most. When full, the connection that has been sending its request the "
          + "longest is dropped (503) to make room, so slow clients cannot lock out others or /api/health; when all "
          + "are waiting for the model, new ones get 503 with Retry-After. Default: ${DEFAULT-VALUE}.")
  int maxConnections;

  @Option(names = "--max-request-memory-mb", paramLabel = "MB",
      description = "Memory one request may take for its activations, estimated before it runs from the processing "
          + "size, the model's VAE and precision (see /api/models); larger requests get 413. Default: half the "
          + "machine's memory.")
  Integer maxRequestMemoryMb;

  @Option(names = "--max-work", paramLabel = "UNITS", defaultValue = "400",
      description = "Work one request may ask for: processing megapixels x ensemble size x (steps + 2); more gets "
          + "422. Default: ${DEFAULT-VALUE} (the paper's 768 px, ensemble 10, 50 steps is about 306).")
  double maxWork;

  @Option(names = "--queue-size", paramLabel = "N", defaultValue = "16",
      description = "Requests that may wait while one is processed (more: HTTP 503 with Retry-After). "
          + "Default: ${DEFAULT-VALUE}.")
  int queueSize;

  @Option(names = "--results", paramLabel = "N", defaultValue = "64",
      description = "Finished predictions kept in memory for their download links. Default: ${DEFAULT-VALUE}.")
  int results;

  @Mixin HubOptions hub;

  @Mixin RuntimeOptions runtime;

  /** Released to stop serving (Ctrl-C, or a test). */
  final CountDownLatch stop = new CountDownLatch(1);
  /** The running server, once started (read by tests). */
  volatile DemoServer server;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter err = spec.commandLine().getErr();
    PrintWriter out = spec.commandLine().getOut();
    runtime.validate();
    DemoServer.Config config = DemoServer.Config.defaults().withHost(host).withPort(port)
        .withMaxUploadBytes((long) maxUploadMb << 20).withMaxPixels((long) (maxMegapixels * 1_000_000))
        .withMaxProcessingRes(maxProcessingRes).withQueueCapacity(queueSize).withMaxResults(results)
        .withRequestTimeoutSeconds(requestTimeout).withMaxWork(maxWork).withHeaderTimeoutSeconds(headerTimeout)
        .withMaxConnections(maxConnections);
    if (maxRequestMemoryMb != null) {
      if (maxRequestMemoryMb < 1) throw new IllegalArgumentException("--max-request-memory-mb must be positive");
      config = config.withMaxRequestBytes((long) maxRequestMemoryMb << 20);
    }
    if (!(maxWork > 0)) throw new IllegalArgumentException("--max-work must be positive, got " + maxWork);
    List<String> requested = checkpoints.isEmpty() ? List.of(PredictCommand.DEFAULT_CHECKPOINT) : checkpoints;
    Precision precision = runtime.start();
    List<ServedModel> models = new ArrayList<>();
    CountDownLatch closed = new CountDownLatch(1);
    // Ctrl-C: stop serving, and hold the JVM until a running prediction has finished and the models are closed
    Thread hook = new Thread(() -> {
      stop.countDown();
      try {
        closed.await(2, java.util.concurrent.TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "marigold4j-serve-shutdown");
    try {
      Set<String> ids = new HashSet<>();
      for (String arg : requested) {
        ServedModel m = load(arg, precision, err);
        models.add(m);
        if (!ids.add(m.id())) throw new IllegalArgumentException(m.id() + ": checkpoint given twice");
      }
      server = DemoServer.start(models, config);
      out.printf("Serving %d model(s) on %s  (Ctrl-C to stop)%n", models.size(), server.uri());
      out.flush();
      Runtime.getRuntime().addShutdownHook(hook);
      stop.await();
      return 0;
    } finally {
      if (server != null) server.close();
      models.forEach(ServedModel::close);
      closed.countDown();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException | IllegalArgumentException e) {
        // shutting down already, or never registered
      }
    }
  }

  private ServedModel load(String arg, Precision precision, PrintWriter err) {
    Modality forced = null;
    String idOrDir = arg;
    for (Modality m : Modality.tasks()) {
      String prefix = m.cliName() + ":";
      if (arg.toLowerCase(Locale.ROOT).startsWith(prefix)) {
        forced = m;
        idOrDir = arg.substring(prefix.length());
      }
    }
    Path dir = hub.resolve(idOrDir, runtime.variant, err);
    Path local = Path.of(idOrDir);
    String id = Files.isDirectory(local) && local.getFileName() != null ? local.getFileName().toString() : idOrDir;
    Detection detected = Estimators.detect(dir, idOrDir);
    if (forced != null) {
      if (detected.maps().size() > 1) {
        throw new IllegalArgumentException(arg + ": a " + detected.family().name() + " checkpoint serves "
            + String.join(" and ", detected.maps().stream().map(Modality::cliName).toList())
            + "; drop the " + forced.cliName() + ": prefix");
      }
      detected = detected.only(forced, "the " + forced.cliName() + ": prefix");
    }
    err.printf("Loading %s (%s: %s, %s on %s)%n", idOrDir, detected.family().name(),
        String.join("+", detected.maps().stream().map(Modality::cliName).toList()), precision.label(),
        runtime.device);
    err.flush();
    return new EstimatorServedModel(id, Estimators.load(dir, detected, precision, runtime.device));
  }
}
