package marigold4j.prep;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import marigold4j.eval.depth.PythonFormat;
import marigold4j.image.AtomicFiles;
import marigold4j.image.Png16;
import marigold4j.image.RgbPng;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Marigold's {@code preprocess_hypersim.py}: for every frame of the split csv that is in Hypersim's public release,
 * the HDR colour is tone-mapped to an 8-bit RGB PNG and the distance map becomes a 16-bit planar-depth PNG in
 * millimetres (0 where there is no geometry), with per-split {@code filename_list_<split>.txt} and
 * {@code filename_meta_<split>.csv} files.
 *
 * <p>Unlike the original, a re-run skips frames whose two PNGs already exist (their statistics are recomputed from the
 * PNGs, which is exactly what the original computed them from), and a frame that cannot be read is reported and left
 * out of the lists instead of stopping the run. Optionally, Hypersim's downloaded {@code normal_cam.png} previews are
 * copied into the {@code normals/} layout the training loader reads.
 */
public final class HypersimPreprocessor {
  private static final Logger LOG = LoggerFactory.getLogger(HypersimPreprocessor.class);
  /** Hypersim's image size and focal length (60 degree horizontal field of view), hard-coded by the original. */
  public static final int IMG_WIDTH = 1024;
  public static final int IMG_HEIGHT = 768;
  public static final double FOCAL_LENGTH = 886.81;
  /** Splits in the order the original writes them; all three folders are always created. */
  public static final List<String> SPLITS = List.of("train", "val", "test");
  private static final List<String> EXTRA_COLUMNS = List.of("rgb_path", "rgb_mean", "rgb_std", "rgb_min", "rgb_max",
      "depth_path", "depth_mean", "depth_std", "depth_min", "depth_max", "invalid_ratio");

  /**
   * What to process.
   *
   * @param rawDir Hypersim's {@code raw_data} folder ({@code <scene>/images/scene_<cam>_final_hdf5/...})
   * @param splitCsv {@code metadata_images_split_scene_v1.csv}
   * @param outputDir the processed folder ({@code <split>/<scene>/...} is written below it)
   * @param normalsFrom where downloaded {@code <scene>/images/scene_<cam>_geometry_preview/frame.<ffff>.normal_cam.png}
   *     files are looked for (null: do not copy normals)
   * @param threads frames processed in parallel (at least 1)
   */
  public record Options(Path rawDir, Path splitCsv, Path outputDir, Path normalsFrom, int threads) {
    public Options {
      if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
  }

  /** Progress callbacks (called from the thread that runs {@link #run}). */
  public interface Listener {
    /** A split with {@code frames} frames starts. */
    default void splitStarted(String split, int frames) {}

    /** One frame is finished ({@code skipped}: its outputs existed already). */
    default void frameDone(String split, String frame, boolean skipped) {}

    /** One frame failed; the run continues. */
    default void frameFailed(String split, String frame, String reason) {}
  }

  /**
   * The outcome of a run.
   *
   * @param processed frames written in this run
   * @param skipped frames whose outputs existed
   * @param failures one line per frame that could not be processed (file and reason)
   * @param normalsCopied normal_cam.png files copied into {@code normals/}
   * @param normalsMissing included frames without a normal_cam.png (only counted when normals are copied)
   */
  public record Report(int processed, int skipped, List<String> failures, int normalsCopied, int normalsMissing) {
    public boolean ok() {
      return failures.isEmpty();
    }
  }

  /** The outputs of one frame and the numbers behind them. */
  public record Frame(byte[] rgb, int[] depthMm, int width, int height, double invalidRatio, double brightnessP90,
      double toneMapScale, double[] planeDepthM) {}

  private record Row(int index, List<String> cells, String scene, String camera, int frameId) {
    String name() {
      return scene + "/" + camera + "/frame." + String.format(Locale.ROOT, "%04d", frameId);
    }
  }

  private record Done(Row row, List<String> metaCells, String listLine, boolean skipped, String failure) {}

  private final Options options;

  public HypersimPreprocessor(Options options) {
    this.options = options;
  }

  /**
   * Processes every split; never throws for a bad frame (see {@link Report#failures()}).
   *
   * @throws IllegalArgumentException if the split csv is missing or lacks the needed columns
   */
  public Report run(Listener listener) {
    CsvTable csv = CsvTable.read(options.splitCsv());
    Path f = options.splitCsv();
    int cScene = csv.column("scene_name", f);
    int cCamera = csv.column("camera_name", f);
    int cFrame = csv.column("frame_id", f);
    int cIncluded = csv.column("included_in_public_release", f);
    int cSplit = csv.column("split_partition_name", f);
    List<String> header = new ArrayList<>();
    header.add(""); // pandas writes the unnamed index column first
    header.addAll(csv.header());
    header.addAll(EXTRA_COLUMNS);

    int processed = 0;
    int skipped = 0;
    List<String> failures = new ArrayList<>();
    int[] normals = new int[2];
    ExecutorService pool = Executors.newFixedThreadPool(options.threads(), r -> {
      Thread t = new Thread(r, "hypersim-prep");
      t.setDaemon(true);
      return t;
    });
    try {
      for (String split : SPLITS) {
        Path splitDir = options.outputDir().resolve(split);
        createDirectories(splitDir);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < csv.rows().size(); i++) {
          List<String> cells = csv.rows().get(i);
          if (!isTrue(cells.get(cIncluded)) || !split.equals(cells.get(cSplit))) continue;
          int frameId;
          try {
            frameId = Integer.parseInt(cells.get(cFrame).trim());
          } catch (NumberFormatException e) {
            failures.add(f + ": row " + i + ": frame_id '" + cells.get(cFrame) + "' is not an integer");
            continue;
          }
          rows.add(new Row(i, cells, cells.get(cScene), cells.get(cCamera), frameId));
        }
        listener.splitStarted(split, rows.size());
        List<Future<Done>> futures = new ArrayList<>();
        for (Row row : rows) futures.add(pool.submit(() -> processRow(row, splitDir)));
        List<String> meta = new ArrayList<>();
        meta.add(CsvTable.line(header));
        List<String> list = new ArrayList<>();
        for (Future<Done> fu : futures) {
          Done d = get(fu);
          if (d.failure() != null) {
            failures.add(d.failure());
            LOG.debug("{}", d.failure()); // reported through the listener and the Report
            listener.frameFailed(split, d.row().name(), d.failure());
            continue;
          }
          if (d.skipped()) skipped++;
          else processed++;
          meta.add(CsvTable.line(d.metaCells()));
          list.add(d.listLine());
          if (options.normalsFrom() != null) copyNormals(d.row(), normals);
          listener.frameDone(split, d.row().name(), d.skipped());
        }
        // the original joins with "\n" and writes no trailing newline; pandas ends every csv line with "\n"
        writeText(splitDir.resolve("filename_list_" + split + ".txt"), String.join("\n", list));
        writeText(splitDir.resolve("filename_meta_" + split + ".csv"), String.join("\n", meta) + "\n");
      }
    } finally {
      pool.shutdownNow();
    }
    if (options.normalsFrom() != null && normals[1] > 0) {
      LOG.info("{} frame(s) have no normal_cam.png under {}; download them with Hypersim's download.py "
          + "(--contains normal_cam.png) into {}", normals[1], options.normalsFrom(),
          options.outputDir().resolve("normals"));
    }
    return new Report(processed, skipped, List.copyOf(failures), normals[0], normals[1]);
  }

  private Done processRow(Row row, Path splitDir) {
    String fid = String.format(Locale.ROOT, "%04d", row.frameId());
    String rgbRel = row.scene() + "/rgb_" + row.camera() + "_fr" + fid + ".png";
    String depthRel = row.scene() + "/depth_plane_" + row.camera() + "_fr" + fid + ".png";
    Path rgbOut = splitDir.resolve(rgbRel);
    Path depthOut = splitDir.resolve(depthRel);
    Path images = options.rawDir().resolve(row.scene()).resolve("images");
    Path colorFile = images.resolve("scene_" + row.camera() + "_final_hdf5").resolve("frame." + fid + ".color.hdf5");
    Path geometry = images.resolve("scene_" + row.camera() + "_geometry_hdf5");
    Path distFile = geometry.resolve("frame." + fid + ".depth_meters.hdf5");
    Path entityFile = geometry.resolve("frame." + fid + ".render_entity_id.hdf5");
    try {
      byte[] rgb;
      int[] depthMm;
      double invalidRatio;
      boolean skip = Files.isRegularFile(rgbOut) && Files.isRegularFile(depthOut);
      if (skip) {
        PngIo.Samples rgbPng = PngIo.read(rgbOut);
        PngIo.Samples depthPng = PngIo.read(depthOut);
        rgb = new byte[rgbPng.values().length];
        for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) rgbPng.values()[i];
        depthMm = depthPng.values();
        invalidRatio = invalidRatio(Hdf5Arrays.readInts(entityFile).values());
      } else {
        Frame frame = processFrame(colorFile, distFile, entityFile);
        rgb = frame.rgb();
        depthMm = frame.depthMm();
        invalidRatio = frame.invalidRatio();
        RgbPng.writeHwc(rgbOut, rgb, frame.width(), frame.height());
        Png16.writeValues(depthOut, depthMm, frame.width(), frame.height());
      }
      List<String> cells = new ArrayList<>();
      cells.add(Integer.toString(row.index()));
      cells.addAll(row.cells());
      double[] rgbValues = new double[rgb.length];
      int rgbMin = 255;
      int rgbMax = 0;
      for (int i = 0; i < rgb.length; i++) {
        int v = rgb[i] & 0xff;
        rgbValues[i] = v;
        rgbMin = Math.min(rgbMin, v);
        rgbMax = Math.max(rgbMax, v);
      }
      double[] restored = new double[depthMm.length];
      double dMin = Double.POSITIVE_INFINITY;
      double dMax = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < restored.length; i++) {
        restored[i] = depthMm[i] / 1000.0;
        dMin = Math.min(dMin, restored[i]);
        dMax = Math.max(dMax, restored[i]);
      }
      cells.add(rgbRel);
      cells.add(PythonFormat.repr(NumpyStats.mean(rgbValues)));
      cells.add(PythonFormat.repr(NumpyStats.std(rgbValues)));
      cells.add(PythonFormat.repr(rgbMin)); // a uint8 stored into a float column: "0.0"
      cells.add(PythonFormat.repr(rgbMax));
      cells.add(depthRel);
      cells.add(PythonFormat.repr(NumpyStats.mean(restored)));
      cells.add(PythonFormat.repr(NumpyStats.std(restored)));
      cells.add(PythonFormat.repr(dMin));
      cells.add(PythonFormat.repr(dMax));
      cells.add(PythonFormat.repr(invalidRatio));
      return new Done(row, cells, rgbRel + " " + depthRel, skip, null);
    } catch (RuntimeException e) {
      return new Done(row, null, null, false, row.name() + ": " + e.getMessage());
    }
  }

  /**
   * Processes one frame from its three HDF5 files.
   *
   * @throws IllegalArgumentException naming the file when an input is missing, unreadable or of the wrong size
   */
  public static Frame processFrame(Path colorFile, Path distFile, Path entityFile) {
    Hdf5Arrays.Doubles color = Hdf5Arrays.readDoubles(colorFile);
    Hdf5Arrays.Doubles dist = Hdf5Arrays.readDoubles(distFile);
    Hdf5Arrays.Ints entity = Hdf5Arrays.readInts(entityFile);
    requireShape(colorFile, color.shape(), IMG_HEIGHT, IMG_WIDTH, 3);
    requireShape(distFile, dist.shape(), IMG_HEIGHT, IMG_WIDTH);
    requireShape(entityFile, entity.shape(), IMG_HEIGHT, IMG_WIDTH);
    int[] ids = entity.values();
    HypersimUtil.ToneMapped tm = HypersimUtil.toneMap(color.values(), ids);
    byte[] rgb = tm.toUint8();
    double[] depth = HypersimUtil.distToDepth(IMG_WIDTH, IMG_HEIGHT, FOCAL_LENGTH, dist.values());
    int[] mm = new int[depth.length];
    for (int i = 0; i < depth.length; i++) {
      if (ids[i] == -1) depth[i] = 0;
      double v = depth[i] * 1000.0;
      // astype(uint16): truncation; NaN -> 0 and values past 65.535 m wrap, as numpy does on x86
      mm[i] = Double.isNaN(v) ? 0 : ((int) (long) v) & 0xffff;
    }
    return new Frame(rgb, mm, IMG_WIDTH, IMG_HEIGHT, invalidRatio(ids), tm.brightnessP90(), tm.scale(), depth);
  }

  /** Fraction of pixels without geometry ({@code entity_id == -1}). */
  public static double invalidRatio(int[] entityIds) {
    long invalid = 0;
    for (int id : entityIds) if (id == -1) invalid++;
    return (double) invalid / entityIds.length;
  }

  private void copyNormals(Row row, int[] counts) {
    Path rel = Path.of(row.scene(), "images", "scene_" + row.camera() + "_geometry_preview",
        String.format(Locale.ROOT, "frame.%04d.normal_cam.png", row.frameId()));
    Path target = options.outputDir().resolve("normals").resolve(rel);
    if (Files.isRegularFile(target)) return;
    Path source = options.normalsFrom().resolve(rel);
    if (!Files.isRegularFile(source)) {
      counts[1]++;
      return;
    }
    AtomicFiles.write(target, out -> Files.copy(source, out));
    counts[0]++;
  }

  private static void requireShape(Path file, int[] shape, int... expected) {
    if (!java.util.Arrays.equals(shape, expected)) {
      throw new IllegalArgumentException(file + ": dataset shape " + Hdf5Arrays.describe(shape) + ", expected "
          + Hdf5Arrays.describe(expected) + " (the original hard-codes 768x1024 frames)");
    }
  }

  /** pandas parses True/TRUE/true as a boolean. */
  private static boolean isTrue(String cell) {
    return cell.trim().equalsIgnoreCase("true");
  }

  private static Done get(Future<Done> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  private static void createDirectories(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
    }
  }

  private static void writeText(Path file, String text) {
    AtomicFiles.write(file, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
  }
}
