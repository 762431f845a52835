package marigold4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.random.NoiseSource;
import marigold4j.video.ClipPredictor;
import marigold4j.video.FrameFolderSource;
import marigold4j.video.FrameSource;
import marigold4j.video.VideoDecodeException;
import marigold4j.video.VideoFileSource;

/** {@code predict}'s clips: video files and {@code --frames} folders, each through {@link ClipPredictor}. */
final class VideoClips {
  private VideoClips() {}

  /** A clip to run: a video file, or a folder of frames at a frame rate. */
  record Clip(Path path, boolean frames, double fps) {
    FrameSource open() {
      return frames ? new FrameFolderSource(path, fps) : new VideoFileSource(path);
    }
  }

  /**
   * Runs every clip, each with its own progress over frames (count, rate, time left) and a closing line on
   * {@code out}: frames, frame rate, size, the flicker figures and where the files went. A clip that stops early
   * (corrupt, truncated) keeps the frames before it and makes the exit code 1.
   *
   * @return the number of clips that stopped early or could not be opened
   */
  static int run(List<Clip> clips, Estimator estimator, EstimatorSettings settings, NoiseSource noise,
      ClipPredictor.Options options, Path output, PrintWriter out, PrintWriter err) {
    int failed = 0;
    java.util.Set<String> names = new java.util.HashSet<>();
    for (Clip clip : clips) {
      FrameSource source;
      try {
        source = clip.open();
      } catch (VideoDecodeException | IllegalArgumentException e) {
        err.println("error: " + InputImages.printable(e.getMessage()));
        failed++;
        continue;
      }
      int declared = source.declaredFrames();
      String name = InputImages.printable(source.name());
      if (!names.add(source.name())) {
        err.printf("warning: %s: another clip has the same name; its outputs are overwritten%n",
            InputImages.printable(clip.path().toString()));
      }
      ClipPredictor.Result r;
      long start = System.nanoTime();
      try (Progress progress = Progress.start("Clip " + name, Math.max(1, declared), " frames", err)) {
        r = ClipPredictor.run(estimator, settings, noise, source, output, options, (done, label) -> {
          double secs = (System.nanoTime() - start) / 1e9;
          String eta = declared > done ? String.format(Locale.ROOT, ", ETA %.0f s", secs / done * (declared - done))
              : "";
          progress.step(String.format(Locale.ROOT, "frame %d%s%s", done, declared > 0 ? "/" + declared : "", eta));
        });
      }
      double secs = (System.nanoTime() - start) / 1e9;
      if (r.stopped() != null) {
        failed++;
        err.println("error: " + InputImages.printable(r.stopped()) + "; the " + r.frames() + " frame"
            + (r.frames() == 1 ? "" : "s") + " before it are kept");
      }
      out.println(summary(r, secs, output));
      out.flush();
    }
    return failed;
  }

  /** The closing line of a clip. */
  static String summary(ClipPredictor.Result r, double secs, Path output) {
    StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%s: %d frames at %.3f fps (%dx%d) in %.1f s",
        InputImages.printable(r.clip()), r.frames(), r.fps(), r.width(), r.height(), secs));
    if (!Double.isNaN(r.flickerPerFrame())) {
      s.append(String.format(Locale.ROOT, "; flicker %.5f per-frame", r.flickerPerFrame()));
      if (!Double.isNaN(r.flickerAligned())) s.append(String.format(Locale.ROOT, ", %.5f aligned", r.flickerAligned()));
    }
    List<String> files = new ArrayList<>();
    Path base = output.toAbsolutePath().normalize();
    for (Path f : r.files()) {
      Path abs = f.toAbsolutePath().normalize();
      files.add(abs.startsWith(base) ? base.relativize(abs).toString() : f.toString());
    }
    if (!files.isEmpty()) s.append(" -> ").append(output).append(" (").append(String.join(", ", files)).append(')');
    return s.toString();
  }
}
