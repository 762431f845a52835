package marigold4j.video;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.estimator.NonFiniteOutputException;
import marigold4j.image.Npy;
import marigold4j.image.PilImage;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Prediction;
import marigold4j.pipeline.diffusers.MarigoldVisuals;
import marigold4j.random.NoiseSource;
import org.bytedeco.javacpp.PointerScope;

/**
 * Depth / normals for a clip, frame by frame, with any {@link Estimator}. Per frame it writes the files
 * {@link DensePrediction#save} writes for an image named {@link #frameName}; per map, a colourised H.264 video at the
 * clip's frame rate ({@link #videoFile}) and the float32 {@code .npy} stack of the maps ({@link #stackFile}: (T, H, W)
 * for one-channel maps, (T, H, W, C) for normals and colour targets).
 *
 * <p><b>Temporal consistency</b> (on by default): one normalisation for the whole clip. Each frame's depth is aligned
 * to its predecessor's aligned depth by a scale and shift over all pixels ({@link TemporalAlignment}: the symmetric
 * fit by default, least squares on request);
 * the depth stack holds the aligned depth, and the depth video is coloured over the aligned clip's global range, so
 * the colour scale does not jump. Optionally (diffusers' Marigold checkpoints, which take initial latents) latent
 * blending, diffusers' Marigold video recipe: one common latent drawn for the clip; frame 0 starts from it, frame t
 * from {@code (1 - b) common + b latent(t-1)}, the previous frame's final prediction latent. Without consistency the
 * stack holds each frame's own prediction and the video its own colouring.
 *
 * <p>Memory stays flat over the frames: each prediction runs in its own {@link PointerScope}; decoding, encoding and
 * the stack are streamed (one frame held at a time; the depth video is coloured in a second pass over the stack file).
 * A decoding error or a failed frame stops the clip there: the frames before it keep every output. A summary
 * ({@link #summaryFile}) records what was done and measured.
 */
public final class ClipPredictor {
  /**
   * @param temporalConsistency align depth across frames and colour the clip over one range
   * @param latentBlend b of the latent blending (0 = off; diffusers' recipe uses 0.1)
   * @param seed the seed of the common latent draw
   * @param alignment how each frame's depth is fitted to its predecessor's
   */
  public record Options(boolean temporalConsistency, double latentBlend, long seed,
      TemporalAlignment.Method alignment) {
    public Options {
      if (!(latentBlend >= 0 && latentBlend <= 1)) {
        throw new IllegalArgumentException("--latent-blend must be in [0, 1], got " + latentBlend);
      }
      java.util.Objects.requireNonNull(alignment);
    }

    /** The default alignment, {@link TemporalAlignment.Method#SYMMETRIC}. */
    public Options(boolean temporalConsistency, double latentBlend, long seed) {
      this(temporalConsistency, latentBlend, seed, TemporalAlignment.Method.SYMMETRIC);
    }
  }

  /** Told after every frame (from the caller's thread). */
  @FunctionalInterface
  public interface Listener {
    /** @param done frames finished so far, including this one */
    void frameDone(int done, String label);
  }

  /**
   * What a clip run produced.
   *
   * @param frames frames predicted and written
   * @param flickerPerFrame {@link Flicker} of the depth as each frame predicted it (NaN without depth or frames)
   * @param flickerAligned {@link Flicker} of the aligned depth (NaN without temporal consistency)
   * @param colorRange the depth video's value range with temporal consistency ({min, max}), else null
   * @param stopped why the clip stopped before its end (the message names the file and frame), or null
   * @param files the clip's videos and stacks
   */
  public record Result(String clip, int frames, double fps, int width, int height, double flickerPerFrame,
      double flickerAligned, double[] colorRange, String stopped, List<Path> files) {}

  private ClipPredictor() {}

  /** The base name of frame {@code frame} (0-based): {@code <clip>_<frame:06d>}. */
  public static String frameName(String clip, int frame) {
    return String.format(Locale.ROOT, "%s_%06d", clip, frame);
  }

  /** {@code <map>_colored/<clip>_<map>_colored.mp4} ({@code depth_colored/clip_depth_colored.mp4}). */
  public static Path videoFile(Path output, String clip, Modality map) {
    return output.resolve(map.folderPrefix() + "_colored").resolve(clip + "_" + map.folderPrefix() + "_colored.mp4");
  }

  /** {@code <map>_npy/<clip>_<map>_stack.npy} ({@code depth_npy/clip_depth_stack.npy}). */
  public static Path stackFile(Path output, String clip, Modality map) {
    return output.resolve(map.folderPrefix() + "_npy").resolve(clip + "_" + map.folderPrefix() + "_stack.npy");
  }

  /**
   * {@code <clip>_clip.json}: frames, fps, size, family, the consistency options, the flicker figures
   * ({@code per_frame}, {@code aligned}; null where not measured), the depth video's colour range, each frame's
   * alignment ({@code scale}, {@code shift}: aligned = scale * predicted + shift), why it stopped early (or null)
   * and the clip's files.
   */
  public static Path summaryFile(Path output, String clip) {
    return output.resolve(clip + "_clip.json");
  }

  /**
   * Predicts every frame of {@code source} and writes the clip's files to {@code output}; closes {@code source}.
   * A clip that stops early returns normally, with {@link Result#stopped()} saying why.
   */
  public static Result run(Estimator estimator, EstimatorSettings settings, NoiseSource noise, FrameSource source,
      Path output, Options options, Listener listener) {
    return new Run(estimator, settings, noise, source, output, options, listener).run();
  }

  /** The state of one clip run. */
  private static final class Run {
    private final Estimator estimator;
    private final EstimatorSettings settings;
    private final NoiseSource noise;
    private final FrameSource source;
    private final Path output;
    private final Options options;
    private final Listener listener;
    private final String clip;
    private final boolean depth;
    private final Map<Modality, NpyStackWriter> stacks = new LinkedHashMap<>();
    private final Map<Modality, VideoEncoder> videos = new LinkedHashMap<>();
    private final Flicker perFrame = new Flicker();
    private final Flicker aligned = new Flicker();
    private final List<Path> files = new ArrayList<>();
    private final List<double[]> alignment = new ArrayList<>();
    private float[] previousAligned;
    private double min = Double.POSITIVE_INFINITY;
    private double max = Double.NEGATIVE_INFINITY;
    private float[] common;
    private long[] latentShape;
    private float[] previousLatent;
    private int width;
    private int height;

    Run(Estimator estimator, EstimatorSettings settings, NoiseSource noise, FrameSource source, Path output,
        Options options, Listener listener) {
      this.estimator = estimator;
      this.settings = settings;
      this.noise = noise;
      this.source = source;
      this.output = output;
      this.options = options;
      this.listener = listener;
      this.clip = source.name();
      this.depth = estimator.maps().contains(Modality.DEPTH);
    }

    Result run() {
      int frame = 0;
      String stopped = null;
      // frames per call: --batch-size frames go to the estimator together (one call for diffusers' checkpoints);
      // latent blending chains each frame to the one before, so it predicts one at a time
      int perCall = options.latentBlend() > 0 || settings.batchSize() == null ? 1 : Math.max(1, settings.batchSize());
      try {
        boolean end = false;
        while (!end) {
          List<PilImage> images = new ArrayList<>(perCall);
          while (images.size() < perCall) {
            PilImage image;
            try {
              image = source.next();                   // decoded outside the frames' scope (see VideoFileSource)
            } catch (VideoDecodeException e) {
              stopped = e.getMessage();
              end = true;
              break;
            }
            if (image == null) {
              end = true;
              break;
            }
            images.add(image);
          }
          if (images.isEmpty()) break;
          List<FrameMaps> maps;
          try (PointerScope scope = new PointerScope()) {
            maps = predict(images, frame);
          } catch (IllegalArgumentException | UncheckedIOException | NonFiniteOutputException e) {
            stopped = clip + ": frame " + frame + ": " + e.getMessage();
            break;
          }
          for (FrameMaps m : maps) {
            write(m);
            frame++;
            listener.frameDone(frame, frameName(clip, frame - 1));
          }
        }
      } finally {
        finish(frame);
      }
      Result result = new Result(clip, frame, source.fps(), width, height, perFrame.value(),
          options.temporalConsistency() && depth ? aligned.value() : Double.NaN,
          options.temporalConsistency() && depth && frame > 0 ? new double[] {min, max} : null, stopped,
          List.copyOf(files));
      if (frame > 0) {
        writeSummary(result);
        List<Path> all = new ArrayList<>(result.files());
        all.add(summaryFile(output, clip).toAbsolutePath());
        result = new Result(result.clip(), result.frames(), result.fps(), result.width(), result.height(),
            result.flickerPerFrame(), result.flickerAligned(), result.colorRange(), result.stopped(), List.copyOf(all));
      }
      return result;
    }

    /** {@code <clip>_clip.json}: what the clip run produced and measured, with each frame's alignment. */
    private void writeSummary(Result r) {
      com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
      com.fasterxml.jackson.databind.node.ObjectNode o = json.createObjectNode();
      o.put("clip", r.clip());
      o.put("frames", r.frames());
      o.put("declared_frames", source.declaredFrames());
      o.put("fps", r.fps());
      o.put("width", r.width());
      o.put("height", r.height());
      o.put("family", estimator.family());
      o.put("temporal_consistency", options.temporalConsistency());
      o.put("temporal_alignment", options.alignment().cliName());
      o.put("latent_blend", options.latentBlend());
      com.fasterxml.jackson.databind.node.ObjectNode flicker = o.putObject("flicker");
      putNumber(flicker, "per_frame", r.flickerPerFrame());
      putNumber(flicker, "aligned", r.flickerAligned());
      if (r.colorRange() != null) o.putArray("depth_color_range").add(r.colorRange()[0]).add(r.colorRange()[1]);
      if (!alignment.isEmpty()) {
        com.fasterxml.jackson.databind.node.ArrayNode a = o.putArray("alignment");
        for (double[] st : alignment) a.addObject().put("scale", st[0]).put("shift", st[1]);
      }
      if (r.stopped() == null) o.putNull("stopped");
      else o.put("stopped", r.stopped());
      com.fasterxml.jackson.databind.node.ArrayNode f = o.putArray("files");
      Path base = output.toAbsolutePath().normalize();
      for (Path p : r.files()) f.add(base.relativize(p.toAbsolutePath().normalize()).toString());
      byte[] bytes;
      try {
        bytes = json.writerWithDefaultPrettyPrinter().writeValueAsBytes(o);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
      marigold4j.image.AtomicFiles.write(summaryFile(output, clip), out -> out.write(bytes));
    }

    private static void putNumber(com.fasterxml.jackson.databind.node.ObjectNode o, String key, double v) {
      if (Double.isNaN(v)) o.putNull(key);
      else o.put(key, v);
    }

    /** One frame's maps for the stacks and its video frames (null where the second pass colours it). */
    private record FrameMaps(Map<Modality, float[]> values, Map<Modality, byte[]> colored, int width, int height) {}

    /** The maps of consecutive frames from {@code first} on: one frame with its blended latents, or a batch. */
    private List<FrameMaps> predict(List<PilImage> images, int first) {
      if (images.size() > 1) {
        List<DensePrediction> batch = estimator.predictBatch(images, settings, noise);
        List<FrameMaps> maps = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) maps.add(collect(batch.get(i), first + i));
        return maps;
      }
      PilImage image = images.get(0);
      EstimatorSettings s = settings;
      if (options.latentBlend() > 0) s = blendedLatents(image, first);
      DensePrediction p = estimator.predict(image, s, noise);
      if (options.latentBlend() > 0) {
        previousLatent = p.latent().toFloats();
        if (!Boolean.TRUE.equals(settings.outputLatent())) p = withoutLatent(p);
      }
      return List.of(collect(p, first));
    }

    /** Saves the frame's files and takes its maps for the stacks and videos, depth aligned to the previous frame. */
    private FrameMaps collect(DensePrediction p, int frame) {
      p.save(output, frameName(clip, frame));
      Map<Modality, float[]> values = new LinkedHashMap<>();
      Map<Modality, byte[]> colored = new LinkedHashMap<>();
      int h = 0;
      int w = 0;
      for (Modality m : p.names()) {
        Prediction map = p.map(m);
        h = map.height();
        w = map.width();
        if (m == Modality.DEPTH) {
          float[] d = map.values();                                       // (H, W)
          perFrame.add(d);
          if (options.temporalConsistency()) {
            double[] st = {1, 0};
            if (previousAligned != null) {
              st = TemporalAlignment.fit(d, previousAligned, options.alignment());
              d = TemporalAlignment.apply(d, st[0], st[1]);
            }
            alignment.add(st);
            previousAligned = d;
            aligned.add(d);
            for (float v : d) {
              min = Math.min(min, v);
              max = Math.max(max, v);
            }
            colored.put(m, null);                                         // coloured over the clip's range later
          } else {
            colored.put(m, map.coloredRgb());
          }
          values.put(m, d);
        } else {
          values.put(m, map.channels() == 1 ? map.values() : map.valuesHwc());   // (H, W) or (H, W, C)
          colored.put(m, map.coloredRgb());
        }
      }
      return new FrameMaps(values, colored, w, h);
    }

    /** The frame's initial latents: the common draw, blended with the previous frame's final latent. */
    private EstimatorSettings blendedLatents(PilImage image, int frame) {
      if (common == null) {
        latentShape = estimator.latentShape(image.height(), image.width(), settings);
        if (latentShape == null) {
          throw new IllegalArgumentException("--latent-blend: " + estimator.family() + " checkpoints take no "
              + "initial latents (diffusers' Marigold checkpoints do)");
        }
        long n = 1;
        for (long d : latentShape) n *= d;
        common = new float[Math.toIntExact(n)];
        Random r = new Random(options.seed());
        for (int i = 0; i < common.length; i++) common[i] = (float) r.nextGaussian();
      }
      float[] start = common;
      if (frame > 0) {
        double b = options.latentBlend();
        start = new float[common.length];
        for (int i = 0; i < start.length; i++) start[i] = (float) ((1 - b) * common[i] + b * previousLatent[i]);
      }
      return settings.toBuilder().latents(Npy.Array.ofFloats(start, latentShape)).outputLatent(true).build();
    }

    private static DensePrediction withoutLatent(DensePrediction p) {
      Map<Modality, Prediction> maps = new LinkedHashMap<>();
      for (Modality m : p.names()) maps.put(m, p.map(m));
      DensePrediction out = new DensePrediction(maps, p.convention());
      return p.scene() == null ? out : out.withScene(p.scene());
    }

    /** Appends the frame to the stacks and videos (opened at the first frame, outside any scope). */
    private void write(FrameMaps maps) {
      if (stacks.isEmpty()) {
        width = maps.width();
        height = maps.height();
      }
      for (Map.Entry<Modality, float[]> e : maps.values().entrySet()) {
        Modality m = e.getKey();
        NpyStackWriter stack = stacks.computeIfAbsent(m, k -> m.channels() == 1
            ? new NpyStackWriter(stackFile(output, clip, m), height, width)
            : new NpyStackWriter(stackFile(output, clip, m), height, width, m.channels()));
        stack.append(e.getValue());
        byte[] rgb = maps.colored().get(m);
        if (rgb != null) video(m).write(rgb);
      }
    }

    private VideoEncoder video(Modality m) {
      return videos.computeIfAbsent(m, k -> new VideoEncoder(videoFile(output, clip, m), width, height,
          source.fps()));
    }

    /** The depth video's second pass (with consistency), then every file closed: what was written is kept. */
    private void finish(int frames) {
      RuntimeException failure = null;
      try {
        NpyStackWriter d = stacks.get(Modality.DEPTH);
        if (options.temporalConsistency() && d != null && frames > 0) {
          String cmap = depthColorMap();
          double hi = max > min ? max : min + 1;
          VideoEncoder v = video(Modality.DEPTH);
          for (int t = 0; t < d.frames(); t++) v.write(MarigoldVisuals.depth(d.read(t), min, hi, cmap));
        }
      } catch (RuntimeException e) {
        failure = e;
      }
      for (Modality m : stacks.keySet()) {
        failure = close(stacks.get(m), stackFile(output, clip, m), failure);
        if (videos.containsKey(m)) failure = close(videos.get(m), videoFile(output, clip, m), failure);
      }
      source.close();
      if (failure != null) throw failure;
    }

    private RuntimeException close(AutoCloseable c, Path file, RuntimeException failure) {
      try {
        c.close();
        if (java.nio.file.Files.isRegularFile(file)) files.add(file);
        return failure;
      } catch (Exception e) {
        RuntimeException r = e instanceof RuntimeException re ? re : new IllegalStateException(e);
        if (failure == null) return r;
        failure.addSuppressed(r);
        return failure;
      }
    }

    /** The depth colour map: the settings', else the estimator's default; reversed for a disparity model. */
    private String depthColorMap() {
      EstimatorSettings d = estimator.defaults();
      String cmap = settings.colorMap() != null ? settings.colorMap() : d.colorMap() != null ? d.colorMap()
          : "Spectral";
      Boolean disparity = settings.disparity() != null ? settings.disparity() : d.disparity();
      if (Boolean.TRUE.equals(disparity)) cmap = cmap.endsWith("_r") ? cmap.substring(0, cmap.length() - 2)
          : cmap + "_r";
      return MarigoldVisuals.requireColorMap(cmap);
    }
  }
}
