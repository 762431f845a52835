package marigold4j.cli.serve;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.Iterator;
import marigold4j.estimator.WorkBudget;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.estimator.OutputFormat;
import marigold4j.estimator.OutputFormats;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;

/**
 * {@code POST /api/predict}'s form, read and checked before any work is queued: the image (size, type and
 * dimensions from its header), the model and task, the settings within the server's limits, the seed and the
 * answer's format. Every problem is an {@link HttpError} naming the field.
 */
final class PredictForm {
  /** Generous ceilings for request fields (the checkpoint's defaults are far below). */
  static final int MAX_ENSEMBLE_SIZE = 20;
  static final int MAX_DENOISING_STEPS = 100;
  /** {@code json} and every file kind of the output registry ({@code png16}, {@code colored}, {@code npy}, ...). */
  static final List<String> FORMATS = Stream.concat(Stream.of("json"), OutputFormats.kinds().stream()).toList();
  /** Room for the multipart framing and text fields around the image. */
  static final long FORM_OVERHEAD = 64 * 1024;

  /**
   * A checked request.
   *
   * @param format {@code json} or a file kind of the task's map
   * @param uploadName the upload's file name made safe (messages only)
   * @param baseName the stem of the download names
   * @param width the image's width from its header
   */
  record Request(ServedModel model, Modality task, EstimatorSettings settings, long seed, String format, byte[] image,
      String uploadName, String baseName, int width, int height, marigold4j.geometry.GeometryRequest geometry,
      marigold4j.geometry.MetricReference reference) {}

  /** The file kinds that only a request for 3D files produces. */
  static final List<String> GEOMETRY_KINDS = List.of("exr", "ply", "mesh_ply", "glb", "metric_npy", "metric_json",
      "metric_exr");

  private PredictForm() {}

  /** Reads and checks the request of {@code ex} against the loaded models and the server's limits. */
  static Request read(HttpExchange ex, List<ServedModel> models, DemoServer.Config config, SecureRandom seeds) {
    String boundary = Multipart.boundary(ex.getRequestHeaders().getFirst("Content-Type"));
    byte[] body = HttpIo.readBody(ex, config.maxUploadBytes() + FORM_OVERHEAD, tooLarge(config));
    Map<String, Multipart.Part> form = Multipart.parse(body, boundary);
    Multipart.Part image = form.get("image");
    if (image == null || image.filename() == null) {
      throw new HttpError(400, "missing the image: send it as the multipart file field 'image'");
    }
    if (image.data().length == 0) throw new HttpError(400, "the uploaded image is empty");
    if (image.data().length > config.maxUploadBytes()) throw tooLarge(config);
    String format = format(ex, form);
    ServedModel model = model(form, models);
    Modality task = task(form, model);
    if (!format.equals("json") && OutputFormats.find(task, format).isEmpty()) {
      throw new HttpError(400, "format " + format + " is not a file of a " + task.cliName() + " prediction (use "
          + String.join(" or ", OutputFormats.of(task).stream().map(OutputFormat::kind).toList()) + ")");
    }
    EstimatorSettings s = settings(form, model, task, config);
    long seed = form.containsKey("seed") && !text(form, "seed").isEmpty() ? longField(form, "seed")
        : seeds.nextLong() >>> 32;                         // a short random seed, reported so a run can be repeated
    int[] size = probe(image.data(), config);
    if (s.processingRes() == 0 && Math.max(size[0], size[1]) > config.maxProcessingRes()) {
      throw new HttpError(400, "processing_res 0 (native resolution) is limited to images of at most "
          + config.maxProcessingRes() + " px on the long edge; this one is " + size[0] + "x" + size[1]
          + ": choose a processing_res");
    }
    checkBudget(model, s, size, config);
    marigold4j.geometry.MetricReference reference = reference(form, size);
    boolean geometry = GEOMETRY_KINDS.contains(format) || reference != null
        || (form.containsKey("geometry") && List.of("true", "1", "on").contains(text(form, "geometry")
            .toLowerCase(Locale.ROOT)));
    if (geometry && !model.tasks().contains(Modality.DEPTH)) {
      throw new HttpError(400, "3D files need a depth map; model '" + model.id() + "' predicts none");
    }
    return new Request(model, task, s, seed, format, image.data(), safeFileName(image.filename()),
        baseName(image.filename()), size[0], size[1],
        geometry ? marigold4j.geometry.GeometryRequest.everything() : null, reference);
  }

  /** Refuses a request whose estimated memory (413) or work (422) exceeds the server's budget, saying why. */
  static void checkBudget(ServedModel model, EstimatorSettings s, int[] size, DemoServer.Config config) {
    long pixels = WorkBudget.processingPixels(size[0], size[1], s.processingRes());
    int batch = s.batchSize() != null && s.batchSize() > 0 ? s.batchSize() : 1;
    long bytes = WorkBudget.memory(pixels, model.bytesPerProcessingPixel(), batch);
    long workPixels = pixels;
    String tiled = "";
    marigold4j.estimator.tiles.TileGrid grid = marigold4j.estimator.tiles.Tiling.grid(size[0], size[1],
        s.processingRes(), s.tiles());
    if (grid != null) {
      // one call at a time (the global prediction or a tile) plus the image-sized sums; every call's work
      bytes = WorkBudget.memory(marigold4j.estimator.tiles.Tiling.peakPixels(grid, s.processingRes()),
          model.bytesPerProcessingPixel(), batch) + marigold4j.estimator.tiles.Tiling.stateBytes(grid, model.tasks());
      workPixels = marigold4j.estimator.tiles.Tiling.workPixels(grid, s.processingRes());
      tiled = String.format(Locale.ROOT, ", tiled: %d tiles of %d px and a global prediction", grid.count(),
          grid.tileSize());
    }
    if (bytes > config.maxRequestBytes()) {
      throw new HttpError(413, String.format(Locale.ROOT, "this request would need about %.1f GB of memory "
          + "(%d x %d image at processing_res %d: %.1f megapixels x %d bytes per pixel for model '%s'); the "
          + "server's budget is %.1f GB per request: choose a smaller processing_res", bytes / 1e9, size[0], size[1],
          s.processingRes(), pixels / 1e6, model.bytesPerProcessingPixel(), model.id(),
          config.maxRequestBytes() / 1e9) + (grid != null ? " (or a smaller tile_size;" + tiled.substring(1) + ")"
          : ""));
    }
    double work = WorkBudget.work(workPixels, s.ensembleSize(), s.denoisingSteps());
    if (work > config.maxWork()) {
      throw new HttpError(422, String.format(Locale.ROOT, "this request asks for %.0f units of work (%.2f "
          + "processing megapixels x ensemble %d x (%d steps + 2)%s); the server's budget is %.0f per request: "
          + "lower processing_res, ensemble_size or denoising_steps%s", work, workPixels / 1e6, s.ensembleSize(),
          s.denoisingSteps(), tiled, config.maxWork(), grid != null ? ", or send without tiles" : ""));
    }
  }

  /**
   * The uploaded metric reference ({@code metric_depth}: a {@code .npy} in metres or a 16-bit PNG with
   * {@code metric_depth_scale}), read as {@code predict --metric-depth} reads it; null without one.
   */
  private static marigold4j.geometry.MetricReference reference(Map<String, Multipart.Part> form, int[] size) {
    Multipart.Part part = form.get("metric_depth");
    if (part == null || part.data().length == 0) return null;
    String name = part.filename() == null ? "metric_depth" : safeFileName(part.filename());
    String lower = name.toLowerCase(Locale.ROOT);
    if (!lower.endsWith(".npy") && !lower.endsWith(".png")) {
      throw new HttpError(400, "metric_depth must be a .npy (metres) or a 16-bit .png, got '" + abbreviate(name) + "'");
    }
    Double scale = null;
    if (form.containsKey("metric_depth_scale") && !text(form, "metric_depth_scale").isEmpty()) {
      try {
        scale = Double.parseDouble(text(form, "metric_depth_scale"));
      } catch (NumberFormatException e) {
        throw new HttpError(400, "metric_depth_scale must be a number");
      }
    }
    java.nio.file.Path tmp = null;
    try {
      tmp = java.nio.file.Files.createTempFile("metric-depth-", lower.endsWith(".npy") ? ".npy" : ".png");
      java.nio.file.Files.write(tmp, part.data());
      marigold4j.geometry.MetricReference r = marigold4j.geometry.MetricReference.read(tmp, scale);
      if (r.width() != size[0] || r.height() != size[1]) {
        throw new HttpError(400, "metric_depth " + name + " is " + r.width() + "x" + r.height() + ", the image "
            + size[0] + "x" + size[1] + ": the reference must have the image's size");
      }
      return new marigold4j.geometry.MetricReference(r.width(), r.height(), r.depth(), name);
    } catch (IllegalArgumentException e) {
      throw new HttpError(400, "metric_depth " + name + ": " + e.getMessage().replace(String.valueOf(tmp), name));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } finally {
      if (tmp != null) {
        try {
          java.nio.file.Files.deleteIfExists(tmp);
        } catch (java.io.IOException ignored) {
          // a temporary file left in the system's temp folder
        }
      }
    }
  }

  static HttpError tooLarge(DemoServer.Config config) {
    return new HttpError(413, "upload too large (limit " + config.maxUploadBytes() + " bytes)");
  }

  private static String format(HttpExchange ex, Map<String, Multipart.Part> form) {
    String f = form.containsKey("format") ? text(form, "format") : HttpIo.query(ex, "format");
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

  private static ServedModel model(Map<String, Multipart.Part> form, List<ServedModel> models) {
    String id = form.containsKey("model") ? text(form, "model") : "";
    Modality task = form.containsKey("task") && !text(form, "task").isEmpty() ? parseTask(text(form, "task")) : null;
    if (id.isEmpty()) {
      for (ServedModel m : models) if (task == null || m.tasks().contains(task)) return m;
      throw new HttpError(400, "no loaded model predicts " + task.cliName() + " (loaded: " + ids(models) + ")");
    }
    for (ServedModel m : models) if (m.id().equals(id)) return m;
    throw new HttpError(400, "unknown model '" + id + "' (loaded: " + ids(models) + ")");
  }

  private static String ids(List<ServedModel> models) {
    return String.join(", ", models.stream().map(ServedModel::id).toList());
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
      return Modality.lookup(s).orElseGet(() -> Modality.parse(s));
    } catch (IllegalArgumentException e) {
      throw new HttpError(400, "unknown task '" + s + "' (use depth, normals, or a target of an intrinsics model)");
    }
  }

  private static EstimatorSettings settings(Map<String, Multipart.Part> form, ServedModel model, Modality task,
      DemoServer.Config config) {
    EstimatorSettings d = model.defaults(task);
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
    Boolean uncertainty = null;
    if (form.containsKey("output_uncertainty") && !text(form, "output_uncertainty").isEmpty()) {
      String v = text(form, "output_uncertainty").toLowerCase(Locale.ROOT);
      if (!List.of("true", "false", "1", "0", "on", "off").contains(v)) {
        throw new HttpError(400, "output_uncertainty must be true or false, got '" + abbreviate(v) + "'");
      }
      uncertainty = List.of("true", "1", "on").contains(v);
      if (uncertainty && ens < 2) throw new HttpError(400, "output_uncertainty needs ensemble_size 2 or more");
      if (d.outputUncertainty() == null) {
        throw new HttpError(400, "model '" + model.id() + "' (" + model.family() + ") has no uncertainty output");
      }
    }
    // only what the API offers; the rest stays the model's default
    return EstimatorSettings.builder().processingRes(res).ensembleSize(ens).denoisingSteps(steps).noise(noise)
        .domain(model.hasDomains() ? domain : null).outputUncertainty(uncertainty).tiles(tiles(form, res, config))
        .build();
  }

  /** {@code tiles=true} with optional {@code tile_size} and {@code tile_overlap} (pixels), as {@code predict --tiles}. */
  private static marigold4j.estimator.tiles.TileSettings tiles(Map<String, Multipart.Part> form, int res,
      DemoServer.Config config) {
    boolean on = false;
    if (form.containsKey("tiles") && !text(form, "tiles").isEmpty()) {
      String v = text(form, "tiles").toLowerCase(Locale.ROOT);
      if (!List.of("true", "false", "1", "0", "on", "off").contains(v)) {
        throw new HttpError(400, "tiles must be true or false, got '" + abbreviate(v) + "'");
      }
      on = List.of("true", "1", "on").contains(v);
    }
    boolean sized = form.containsKey("tile_size") && !text(form, "tile_size").isEmpty();
    boolean overlapped = form.containsKey("tile_overlap") && !text(form, "tile_overlap").isEmpty();
    if (!on) {
      if (sized || overlapped) throw new HttpError(400, (sized ? "tile_size" : "tile_overlap") + " needs tiles=true");
      return null;
    }
    if (res == 0) throw new HttpError(400, "tiles=true needs a processing_res (0 is the native resolution already)");
    Integer size = sized ? intField(form, "tile_size", 0, marigold4j.estimator.tiles.TileSettings.MIN_SIZE,
        config.maxProcessingRes()) : null;
    Integer overlap = overlapped ? intField(form, "tile_overlap", 0, 0, config.maxProcessingRes()) : null;
    try {
      marigold4j.estimator.tiles.TileSettings t = new marigold4j.estimator.tiles.TileSettings(size, overlap);
      t.overlapFor(t.sizeFor(res));
      if (t.sizeFor(res) < marigold4j.estimator.tiles.TileSettings.MIN_SIZE) {
        throw new IllegalArgumentException("the tile size defaults to processing_res " + res + ", below "
            + marigold4j.estimator.tiles.TileSettings.MIN_SIZE + " px: give tile_size");
      }
      return t;
    } catch (IllegalArgumentException e) {
      // the core's messages name the command line's options
      throw new HttpError(400, e.getMessage().replace("--tile-size", "tile_size").replace("--tile-overlap",
          "tile_overlap"));
    }
  }

  /** Width and height from the image header, before anything is decoded. */
  private static int[] probe(byte[] data, DemoServer.Config config) {
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
}
