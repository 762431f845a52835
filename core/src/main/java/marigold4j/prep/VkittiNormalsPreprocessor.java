package marigold4j.prep;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import marigold4j.image.ImageReadException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code gen_vkitti_normals.py}: a 16-bit normal PNG ({@code R, G, B = x, y, z}, {@code (n + 1) * 32767.5}) for
 * every Virtual KITTI 2 depth map, computed with {@link DagNormals}, written to
 * {@code vkitti_DAG_normals/<Scene>/<variation>/frames/normal/<Camera>/normal_<i>.png}. Frames whose output exists
 * are skipped; unreadable depth maps are reported and the run goes on.
 */
public final class VkittiNormalsPreprocessor {
  private static final Logger LOG = LoggerFactory.getLogger(VkittiNormalsPreprocessor.class);
  /** The scenes, variations and cameras the original enumerates, in its order. */
  public static final List<String> SCENES = List.of("Scene01", "Scene02", "Scene06", "Scene18", "Scene20");
  public static final List<String> VARIATIONS = List.of("15-deg-left", "15-deg-right", "30-deg-left", "30-deg-right",
      "clone", "morning", "fog", "rain", "sunset", "overcast");
  public static final List<String> CAMERAS = List.of("Camera_0", "Camera_1");
  /** The output folder name inside the Virtual KITTI 2 root. */
  public static final String OUTPUT_FOLDER = "vkitti_DAG_normals";

  /** One frame: its depth input and normal output. */
  public record FrameFiles(Path depth, Path normal) {}

  /** The outcome of a run; {@code failures} has one line per frame that could not be processed. */
  public record Report(int processed, int skipped, List<String> failures) {
    public boolean ok() {
      return failures.isEmpty();
    }
  }

  /** Progress callbacks, called from the thread that runs {@link #run}. */
  public interface Listener {
    default void started(int frames) {}

    default void frameDone(FrameFiles frame, boolean skipped) {}

    default void frameFailed(FrameFiles frame, String reason) {}
  }

  private final Path root;
  private final int threads;

  /**
   * @param root the Virtual KITTI 2 folder holding {@code vkitti_2.0.3_rgb} and {@code vkitti_2.0.3_depth}
   * @param threads frames processed in parallel
   */
  public VkittiNormalsPreprocessor(Path root, int threads) {
    if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    this.root = root;
    this.threads = threads;
  }

  /**
   * The frames, enumerated as the original: scene x variation x camera where both the rgb and the depth folder
   * exist, one frame per {@code rgb_*.jpg} (sorted by name here, so that runs are reproducible on any file system).
   *
   * @throws IllegalArgumentException if {@code root} has no {@code vkitti_2.0.3_rgb} / {@code vkitti_2.0.3_depth}
   */
  public List<FrameFiles> frames() {
    Path rgbRoot = root.resolve("vkitti_2.0.3_rgb");
    Path depthRoot = root.resolve("vkitti_2.0.3_depth");
    if (!Files.isDirectory(rgbRoot) || !Files.isDirectory(depthRoot)) {
      throw new IllegalArgumentException(root + ": not a Virtual KITTI 2 folder (needs vkitti_2.0.3_rgb/ and "
          + "vkitti_2.0.3_depth/)");
    }
    List<FrameFiles> out = new ArrayList<>();
    for (String scene : SCENES) {
      for (String variation : VARIATIONS) {
        for (String camera : CAMERAS) {
          Path rgbDir = rgbRoot.resolve(Path.of(scene, variation, "frames", "rgb", camera));
          Path depthDir = depthRoot.resolve(Path.of(scene, variation, "frames", "depth", camera));
          Path normalDir = root.resolve(Path.of(OUTPUT_FOLDER, scene, variation, "frames", "normal", camera));
          if (!Files.isDirectory(rgbDir) || !Files.isDirectory(depthDir)) continue;
          for (String jpg : jpgNames(rgbDir)) {
            String rest = jpg.substring(3); // "rgb_00000.jpg" -> "_00000.jpg", as the original's file[3:]
            String png = rest.replace(".jpg", ".png");
            out.add(new FrameFiles(depthDir.resolve("depth" + png), normalDir.resolve("normal" + png)));
          }
        }
      }
    }
    return out;
  }

  /** Processes every frame; never throws for a bad frame. */
  public Report run(Listener listener) {
    List<FrameFiles> frames = frames();
    listener.started(frames.size());
    int processed = 0;
    int skipped = 0;
    List<String> failures = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "vkitti-normals");
      t.setDaemon(true);
      return t;
    });
    try {
      List<Future<String>> futures = new ArrayList<>();
      for (FrameFiles f : frames) {
        futures.add(pool.submit(() -> {
          if (Files.isRegularFile(f.normal())) return "skipped";
          process(f.depth(), f.normal());
          return "done";
        }));
      }
      for (int i = 0; i < frames.size(); i++) {
        FrameFiles f = frames.get(i);
        try {
          boolean skip = futures.get(i).get().equals("skipped");
          if (skip) skipped++;
          else processed++;
          listener.frameDone(f, skip);
        } catch (ExecutionException e) {
          String reason = e.getCause() instanceof ImageReadException || e.getCause() instanceof IllegalArgumentException
              || e.getCause() instanceof UncheckedIOException
              ? e.getCause().getMessage() : f.depth() + ": " + e.getCause();
          failures.add(reason);
          LOG.warn("{}", reason);
          listener.frameFailed(f, reason);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } finally {
      pool.shutdownNow();
    }
    return new Report(processed, skipped, List.copyOf(failures));
  }

  /**
   * Computes and writes the normal PNG of one depth map.
   *
   * @throws ImageReadException naming the depth file when it is missing, corrupt or not 16-bit greyscale
   */
  public static void process(Path depthPng, Path normalPng) {
    PngIo.Samples s = PngIo.read(depthPng);
    if (s.bands() != 1) {
      throw new ImageReadException(depthPng, "expected a greyscale depth PNG, got " + s.bands() + " channels");
    }
    float[] z = depthCm(s.values());
    double[] n = DagNormals.depthToNormals(z, s.height(), s.width());
    PngIo.writeRgb16(normalPng, DagNormals.encode16(n), s.width(), s.height());
  }

  /**
   * The original's depth round trip: {@code float32(png) / 100} (metres, float32), then {@code * 100} again in
   * float32 (centimetres; not always the input value).
   */
  public static float[] depthCm(int[] png) {
    float[] z = new float[png.length];
    for (int i = 0; i < png.length; i++) z[i] = ((float) png[i] / 100f) * 100f;
    return z;
  }

  private static List<String> jpgNames(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".jpg")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
    }
  }
}
