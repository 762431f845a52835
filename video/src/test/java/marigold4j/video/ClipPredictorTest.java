package marigold4j.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.estimator.Estimators;
import marigold4j.image.Npy;
import marigold4j.image.PilImage;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;
import marigold4j.testing.Golden;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Clips through an estimator (tiny fixture checkpoints): outputs, consistency, truncation, memory. */
class ClipPredictorTest {
  private static Estimator marigold;
  @TempDir Path tmp;

  @BeforeAll
  static void load() {
    marigold = load("tiny-marigold-depth");
  }

  @AfterAll
  static void close() {
    marigold.close();
  }

  private static Estimator load(String name) {
    Path dir = Golden.fixtures().resolve("checkpoints/" + name);
    return Estimators.load(dir, Estimators.detect(dir, name), Precision.FP32, "cpu");
  }

  private static final EstimatorSettings SMALL = EstimatorSettings.builder().processingRes(0).denoisingSteps(1).build();
  private static final ClipPredictor.Options CONSISTENT = new ClipPredictor.Options(true, 0, 0);
  private static final ClipPredictor.Options PER_FRAME = new ClipPredictor.Options(false, 0, 0);

  private ClipPredictor.Result run(Estimator e, Path clip, Path out, ClipPredictor.Options o) {
    return ClipPredictor.run(e, SMALL, e.seeded(0), new VideoFileSource(clip), out, o, (done, label) -> { });
  }

  @Test
  void clipGetsPerFrameFilesAVideoAtItsRateAndTheStack() {
    Path clip = TestClips.write(tmp.resolve("pan.mp4"), TestClips.panning(12), 12);
    Path out = tmp.resolve("out");
    ClipPredictor.Result r = run(marigold, clip, out, CONSISTENT);
    assertThat(r.stopped()).isNull();
    assertThat(r.frames()).isEqualTo(12);
    for (int t = 0; t < 12; t++) {
      assertThat(out.resolve("depth_npy/pan_" + String.format("%06d", t) + "_pred.npy")).isRegularFile();
      assertThat(out.resolve("depth_colored/pan_" + String.format("%06d", t) + "_pred_colored.png")).isRegularFile();
    }
    Path video = out.resolve("depth_colored/pan_depth_colored.mp4");
    try (VideoFileSource s = new VideoFileSource(video)) {
      assertThat(s.fps()).isCloseTo(12.0, within(1e-6));
      assertThat(s.width()).isEqualTo(TestClips.WIDTH);
      assertThat(s.height()).isEqualTo(TestClips.HEIGHT);
    }
    assertThat(TestClips.decode(video)).hasSize(12);
    Npy.Array stack = Npy.read(out.resolve("depth_npy/pan_depth_stack.npy"));
    assertThat(stack.shape()).containsExactly(12, TestClips.HEIGHT, TestClips.WIDTH);
    // frame 0 is the prediction itself; later frames are aligned to their predecessor
    float[] frame0 = Npy.read(out.resolve("depth_npy/pan_000000_pred.npy")).toFloats();
    float[] all = stack.toFloats();
    for (int i = 0; i < frame0.length; i++) assertThat(all[i]).isEqualTo(frame0[i]);
    assertThat(r.colorRange()).isNotNull();
    assertThat(r.files()).containsExactly(out.resolve("depth_npy/pan_depth_stack.npy").toAbsolutePath(),
        video.toAbsolutePath(), out.resolve("pan_clip.json").toAbsolutePath());
    com.fasterxml.jackson.databind.JsonNode json = Golden.readJson(out.resolve("pan_clip.json"));
    assertThat(json.get("frames").asInt()).isEqualTo(12);
    assertThat(json.get("fps").asDouble()).isCloseTo(12.0, within(1e-6));
    assertThat(json.get("family").asText()).isEqualTo(marigold.family());
    assertThat(json.get("flicker").get("per_frame").asDouble()).isEqualTo(r.flickerPerFrame());
    assertThat(json.get("flicker").get("aligned").asDouble()).isEqualTo(r.flickerAligned());
    assertThat(json.get("alignment")).hasSize(12);
    assertThat(json.get("alignment").get(0).get("scale").asDouble()).isEqualTo(1.0);
    assertThat(json.get("stopped").isNull()).isTrue();
    assertThat(json.get("files").toString()).contains("depth_colored/pan_depth_colored.mp4");
  }

  @Test
  void alignedFramesAreTheDefaultFitToTheirPredecessor() {
    Path clip = TestClips.write(tmp.resolve("pan.mp4"), TestClips.panning(4), 12);
    Path out = tmp.resolve("out");
    run(marigold, clip, out, CONSISTENT);
    float[] stack = Npy.read(out.resolve("depth_npy/pan_depth_stack.npy")).toFloats();
    int n = TestClips.WIDTH * TestClips.HEIGHT;
    for (int t = 1; t < 4; t++) {
      float[] raw = Npy.read(out.resolve("depth_npy/pan_" + String.format("%06d", t) + "_pred.npy")).toFloats();
      float[] prev = java.util.Arrays.copyOfRange(stack, (t - 1) * n, t * n);
      float[] aligned = java.util.Arrays.copyOfRange(stack, t * n, (t + 1) * n);
      double[] st = TemporalAlignment.fit(raw, prev, TemporalAlignment.Method.SYMMETRIC);   // the default
      com.fasterxml.jackson.databind.JsonNode a = Golden.readJson(out.resolve("pan_clip.json")).get("alignment").get(t);
      assertThat(a.get("scale").asDouble()).isCloseTo(st[0], within(1e-9));
      assertThat(a.get("shift").asDouble()).isCloseTo(st[1], within(1e-9));
      for (int i = 0; i < n; i += 97) {
        assertThat((double) aligned[i]).isCloseTo(st[0] * raw[i] + st[1], within(1e-5));
      }
      // and the fit is a real change: the raw frame is not already aligned
      assertThat(Math.abs(st[0] - 1) + Math.abs(st[1])).isGreaterThan(1e-4);
    }
  }

  @Test
  void consistencyRemovesPerFrameNormalisationFlickerOnAStaticClip() {
    // a model normalising each frame with its own scale and shift: aligned, the static clip flickers by its noise only
    Path clip = TestClips.write(tmp.resolve("still.mp4"), TestClips.staticCamera(12, 2, 7), 12);
    Estimator affine = new AffineFlickerEstimator();
    ClipPredictor.Result without = run(affine, clip, tmp.resolve("without"), PER_FRAME);
    for (TemporalAlignment.Method m : TemporalAlignment.Method.values()) {
      ClipPredictor.Result with = run(new AffineFlickerEstimator(), clip, tmp.resolve("with-" + m),
          new ClipPredictor.Options(true, 0, 0, m));
      assertThat(with.flickerPerFrame()).isCloseTo(without.flickerPerFrame(), within(1e-12));   // same predictions
      assertThat(with.flickerAligned()).as("%s aligned vs per-frame flicker", m)
          .isLessThan(0.25 * without.flickerPerFrame());
      // the stack holds what the figure measured
      assertThat(flickerOf(tmp.resolve("with-" + m + "/depth_npy/still_depth_stack.npy")).value())
          .isCloseTo(with.flickerAligned(), within(1e-9));
    }
    assertThat(without.flickerAligned()).isNaN();
    assertThat(flickerOf(tmp.resolve("without/depth_npy/still_depth_stack.npy")).value())
        .isCloseTo(without.flickerPerFrame(), within(1e-9));
  }

  @Test
  void symmetricAlignmentKeepsTheClipsSpreadWhereLeastSquaresFlattensIt() {
    // the tiny random-weight model's consecutive predictions of the blinking clip correlate weakly: least squares
    // shrinks every frame's scale by that correlation and the chain flattens the clip; the symmetric fit does not
    Path clip = TestClips.write(tmp.resolve("blink.mp4"), TestClips.blinking(10, 16), 12);
    double[] ratio = new double[2];
    for (TemporalAlignment.Method m : TemporalAlignment.Method.values()) {
      Path out = tmp.resolve(m.cliName());
      run(marigold, clip, out, new ClipPredictor.Options(true, 0, 0, m));
      Npy.Array a = Npy.read(out.resolve("depth_npy/blink_depth_stack.npy"));
      int n = TestClips.WIDTH * TestClips.HEIGHT;
      float[] v = a.toFloats();
      ratio[m.ordinal()] = std(java.util.Arrays.copyOfRange(v, 9 * n, 10 * n)) / std(java.util.Arrays.copyOf(v, n));
    }
    assertThat(ratio[TemporalAlignment.Method.SYMMETRIC.ordinal()]).as("symmetric: spread of frame 9 / frame 0")
        .isCloseTo(1.0, within(1e-3));
    assertThat(ratio[TemporalAlignment.Method.LEAST_SQUARES.ordinal()]).as("least squares: spread of frame 9 / 0")
        .isLessThan(0.1);
  }

  private static double std(float[] v) {
    double m = 0;
    for (float f : v) m += f;
    m /= v.length;
    double s = 0;
    for (float f : v) s += (f - m) * (f - m);
    return Math.sqrt(s / v.length);
  }

  private static Flicker flickerOf(Path stack) {
    Npy.Array a = Npy.read(stack);
    int n = (int) (a.shape()[1] * a.shape()[2]);
    float[] v = a.toFloats();
    Flicker f = new Flicker();
    for (int t = 0; t < a.shape()[0]; t++) f.add(java.util.Arrays.copyOfRange(v, t * n, (t + 1) * n));
    return f;
  }

  @Test
  void truncatedClipKeepsTheFramesBeforeTheStop() throws IOException {
    Path clip = TestClips.write(tmp.resolve("cut.mp4"), TestClips.panning(24), 12);
    byte[] bytes = Files.readAllBytes(clip);
    Files.write(clip, java.util.Arrays.copyOf(bytes, bytes.length / 2));
    Path out = tmp.resolve("out");
    ClipPredictor.Result r = run(marigold, clip, out, CONSISTENT);
    assertThat(r.stopped()).contains("cut.mp4").contains("frame " + r.frames());
    assertThat(r.frames()).isBetween(1, 23);
    assertThat(out.resolve("depth_npy/cut_" + String.format("%06d", r.frames() - 1) + "_pred.npy")).isRegularFile();
    assertThat(out.resolve("depth_npy/cut_" + String.format("%06d", r.frames()) + "_pred.npy")).doesNotExist();
    assertThat(Npy.read(out.resolve("depth_npy/cut_depth_stack.npy")).shape()[0]).isEqualTo(r.frames());
    assertThat(TestClips.decode(out.resolve("depth_colored/cut_depth_colored.mp4"))).hasSize(r.frames());
    com.fasterxml.jackson.databind.JsonNode json = Golden.readJson(out.resolve("cut_clip.json"));
    assertThat(json.get("frames").asInt()).isEqualTo(r.frames());
    assertThat(json.get("declared_frames").asInt()).isEqualTo(24);
    assertThat(json.get("stopped").asText()).isEqualTo(r.stopped());
  }

  @Test
  void depthAndNormalsFamilyGetsBothStacksAndVideos() {
    try (Estimator geo = load("tiny-geowizard")) {
      Path clip = TestClips.write(tmp.resolve("pan.mp4"), TestClips.panning(3), 8);
      Path out = tmp.resolve("out");
      ClipPredictor.Result r = run(geo, clip, out, CONSISTENT);
      assertThat(r.frames()).isEqualTo(3);
      assertThat(Npy.read(out.resolve("normal_npy/pan_normal_stack.npy")).shape())
          .containsExactly(3, TestClips.HEIGHT, TestClips.WIDTH, 3);
      assertThat(Npy.read(out.resolve("depth_npy/pan_depth_stack.npy")).shape())
          .containsExactly(3, TestClips.HEIGHT, TestClips.WIDTH);
      assertThat(TestClips.decode(out.resolve("normal_colored/pan_normal_colored.mp4"))).hasSize(3);
      assertThat(TestClips.decode(out.resolve("depth_colored/pan_depth_colored.mp4"))).hasSize(3);
    }
  }

  /**
   * {@code --batch-size} frames go to the estimator together: a diffusers checkpoint predicts each group in one call
   * (as diffusers batches a list of images), the last group holding the rest, and every frame's files hold its own
   * image's maps in order (recomputed here from the decoded frames, group by group).
   */
  @Test
  void batchSizeSendsFramesToTheEstimatorTogether() {
    try (Estimator v11 = load("tiny-marigold-v11-depth")) {
      Path clip = TestClips.write(tmp.resolve("pan.mp4"), TestClips.panning(5), 12);
      EstimatorSettings s = EstimatorSettings.builder().processingRes(32).denoisingSteps(1).batchSize(2).build();
      List<Integer> calls = new java.util.ArrayList<>();
      Estimator counting = new Estimator() {
        @Override
        public String family() {
          return v11.family();
        }

        @Override
        public List<Modality> maps() {
          return v11.maps();
        }

        @Override
        public EstimatorSettings defaults() {
          return v11.defaults();
        }

        @Override
        public marigold4j.random.NoiseSource seeded(long seed) {
          return v11.seeded(seed);
        }

        @Override
        public marigold4j.estimator.DensePrediction predict(PilImage image, EstimatorSettings settings,
            marigold4j.random.NoiseSource noise) {
          calls.add(1);
          return v11.predict(image, settings, noise);
        }

        @Override
        public List<marigold4j.estimator.DensePrediction> predictBatch(List<PilImage> images,
            EstimatorSettings settings, marigold4j.random.NoiseSource noise) {
          calls.add(images.size());
          return v11.predictBatch(images, settings, noise);
        }

        @Override
        public Precision precision() {
          return v11.precision();
        }

        @Override
        public Path checkpoint() {
          return v11.checkpoint();
        }

        @Override
        public void close() {}
      };
      ClipPredictor.Result r = ClipPredictor.run(counting, s, v11.seeded(0), new VideoFileSource(clip),
          tmp.resolve("out"), PER_FRAME, (d, l) -> { });
      assertThat(r.frames()).isEqualTo(5);
      assertThat(calls).containsExactly(2, 2, 1);
      List<PilImage> frames = TestClips.decode(clip);
      for (int g = 0; g < 5; g += 2) {
        List<marigold4j.estimator.DensePrediction> expected = v11.predictBatch(
            frames.subList(g, Math.min(5, g + 2)), s, v11.seeded(0));
        for (int i = 0; i < expected.size(); i++) {
          String name = "depth_npy/pan_" + String.format("%06d", g + i) + "_pred.npy";
          assertThat(Npy.read(tmp.resolve("out").resolve(name)).toFloats()).as(name)
              .containsExactly(expected.get(i).map(Modality.DEPTH).values());
        }
      }
      // the batch's first image draws what a call of its own draws: equal up to the batched kernels' rounding
      float[] alone = v11.predict(frames.get(0), s, v11.seeded(0)).map(Modality.DEPTH).values();
      float[] batched = Npy.read(tmp.resolve("out/depth_npy/pan_000000_pred.npy")).toFloats();
      double maxDiff = 0;
      for (int i = 0; i < alone.length; i++) maxDiff = Math.max(maxDiff, Math.abs(alone[i] - batched[i]));
      assertThat(maxDiff).isLessThan(1e-4);
    }
  }

  @Test
  void latentBlendingFollowsDiffusersVideoRecipe() {
    // diffusers' recipe: frame 0 starts from a common latent, frame t from 0.9 common + 0.1 latent(t-1); recomputed
    // here call by call from the decoded frames and compared with the clip's per-frame files
    try (Estimator v11 = load("tiny-marigold-v11-depth")) {
      Path clip = TestClips.write(tmp.resolve("still.mp4"), TestClips.staticCamera(3, 2, 3), 12);
      EstimatorSettings s = EstimatorSettings.builder().processingRes(0).denoisingSteps(2).build();
      ClipPredictor.Result blended = ClipPredictor.run(v11, s, v11.seeded(0), new VideoFileSource(clip),
          tmp.resolve("blend"), new ClipPredictor.Options(true, 0.1, 42), (d, l) -> { });
      ClipPredictor.run(v11, s, v11.seeded(0), new VideoFileSource(clip), tmp.resolve("plain"), CONSISTENT,
          (d, l) -> { });
      assertThat(blended.frames()).isEqualTo(3);
      assertThat(tmp.resolve("blend/latent")).as("latents only on request").doesNotExist();

      List<PilImage> frames = TestClips.decode(clip);
      long[] shape = v11.latentShape(TestClips.HEIGHT, TestClips.WIDTH, s);
      assertThat(shape).containsExactly(1, 4, TestClips.HEIGHT / 8, TestClips.WIDTH / 8);
      float[] common = new float[(int) (shape[0] * shape[1] * shape[2] * shape[3])];
      java.util.Random r = new java.util.Random(42);
      for (int i = 0; i < common.length; i++) common[i] = (float) r.nextGaussian();
      float[] start = common;
      for (int t = 0; t < 3; t++) {
        var p = v11.predict(frames.get(t), s.toBuilder().latents(Npy.Array.ofFloats(start, shape)).outputLatent(true)
            .build(), v11.seeded(0));
        float[] expected = p.map(Modality.DEPTH).values();
        String name = "depth_npy/still_" + String.format("%06d", t) + "_pred.npy";
        float[] actual = Npy.read(tmp.resolve("blend").resolve(name)).toFloats();
        float[] plain = Npy.read(tmp.resolve("plain").resolve(name)).toFloats();
        double maxDiff = 0;
        double maxPlain = 0;
        for (int i = 0; i < expected.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
          maxPlain = Math.max(maxPlain, Math.abs(plain[i] - expected[i]));
        }
        assertThat(maxDiff).as("frame %d vs the recipe recomputed", t).isLessThan(1e-6);
        assertThat(maxPlain).as("frame %d without blending differs", t).isGreaterThan(1e-3);
        float[] previous = p.latent().toFloats();
        start = new float[common.length];
        for (int i = 0; i < start.length; i++) start[i] = (float) (0.9 * common[i] + 0.1 * previous[i]);
      }
    }
  }

  @Test
  void frameFolderIsAClipAtTheGivenRate() throws IOException {
    Path frames = Files.createDirectories(tmp.resolve("shot"));
    List<PilImage> pan = TestClips.panning(5);
    for (int t = 0; t < pan.size(); t++) {
      javax.imageio.ImageIO.write(toImage(pan.get(t)), "png", frames.resolve(String.format("f%03d.png", t)).toFile());
    }
    Path out = tmp.resolve("out");
    ClipPredictor.Result r = ClipPredictor.run(marigold, SMALL, null, new FrameFolderSource(frames, 25), out,
        CONSISTENT, (d, l) -> { });
    assertThat(r.frames()).isEqualTo(5);
    assertThat(r.clip()).isEqualTo("shot");
    try (VideoFileSource s = new VideoFileSource(out.resolve("depth_colored/shot_depth_colored.mp4"))) {
      assertThat(s.fps()).isCloseTo(25.0, within(1e-6));
    }
  }

  static java.awt.image.BufferedImage toImage(PilImage p) {
    java.awt.image.BufferedImage b = new java.awt.image.BufferedImage(p.width(), p.height(),
        java.awt.image.BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < p.height(); y++) {
      for (int x = 0; x < p.width(); x++) {
        int i = (y * p.width() + x) * 3;
        b.setRGB(x, y, (p.pixels()[i] & 0xff) << 16 | (p.pixels()[i + 1] & 0xff) << 8 | (p.pixels()[i + 2] & 0xff));
      }
    }
    return b;
  }

  @Test
  void nativeMemoryStaysFlatOverTheFrames() {
    Path clip = TestClips.write(tmp.resolve("long.mp4"), TestClips.panning(60), 24);
    long[] at10 = new long[2];
    long[] at60 = new long[2];
    List<Integer> seen = new ArrayList<>();
    ClipPredictor.run(marigold, SMALL, marigold.seeded(0), new VideoFileSource(clip), tmp.resolve("out"), CONSISTENT,
        (done, label) -> {
          seen.add(done);
          if (done == 10) {
            at10[0] = Pointer.totalCount();
            at10[1] = nativeResidentBytes();
          } else if (done == 60) {
            at60[0] = Pointer.totalCount();
            at60[1] = nativeResidentBytes();
          }
        });
    assertThat(seen).hasSize(60);
    assertThat(at60[0]).as("live native pointers after frame 60 vs after frame 10").isLessThanOrEqualTo(at10[0]);
    assertThat(at60[1] - at10[1]).as("resident native bytes grown over frames 10..60").isLessThan(64L << 20);
  }

  /** Resident bytes less the Java heap's committed bytes (as MarigoldPipelineMemoryTest measures). */
  private static long nativeResidentBytes() {
    return Pointer.physicalBytes() - Runtime.getRuntime().totalMemory();
  }
}
