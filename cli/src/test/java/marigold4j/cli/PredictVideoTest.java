package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import marigold4j.image.ImageInput;
import marigold4j.image.Npy;
import marigold4j.image.PilImage;
import marigold4j.testing.Golden;
import marigold4j.video.VideoEncoder;
import marigold4j.video.VideoFileSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code predict} on video files and --frames folders (issue 19), with the tiny fixture checkpoints. */
class PredictVideoTest {
  private static final int W = 96;
  private static final int H = 64;
  @TempDir Path tmp;

  private static String checkpoint(String name) {
    return Golden.fixtures().resolve("checkpoints/" + name).toString();
  }

  /** A panning clip from the fixture photo, one pixel per frame, encoded by the library. */
  private static Path clip(Path file, int frames, double fps) {
    PilImage p = ImageInput.read(Golden.fixtures().resolve("images/photo_living_room_112x68.png"));
    byte[] rgb = p.rgbPixels();
    try (VideoEncoder v = new VideoEncoder(file, W, H, fps)) {
      for (int t = 0; t < frames; t++) {
        byte[] f = new byte[W * H * 3];
        for (int y = 0; y < H; y++) System.arraycopy(rgb, ((y + 2) * p.width() + t) * 3, f, y * W * 3, W * 3);
        v.write(f);
      }
    }
    return file;
  }

  private static List<PilImage> decode(Path file) {
    List<PilImage> out = new ArrayList<>();
    try (VideoFileSource s = new VideoFileSource(file)) {
      for (PilImage f = s.next(); f != null; f = s.next()) out.add(f);
    }
    return out;
  }

  @Test
  void videoFileGivesPerFrameFilesColouredVideoAndStack() {
    Path in = clip(tmp.resolve("walk.mp4"), 8, 12);
    Path out = tmp.resolve("out");
    CliRun r = CliRun.of("predict", in.toString(), "--checkpoint", checkpoint("tiny-marigold-depth"),
        "--processing-res", "0", "--denoise-steps", "1", "-o", out.toString());
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out()).contains("walk: 8 frames at 12.000 fps (96x64)").contains("flicker").contains("aligned")
        .contains("depth_colored/walk_depth_colored.mp4").contains("depth_npy/walk_depth_stack.npy")
        .contains("walk_clip.json");
    assertThat(r.err()).contains("frame 8/8");
    Path video = out.resolve("depth_colored/walk_depth_colored.mp4");
    try (VideoFileSource s = new VideoFileSource(video)) {
      assertThat(s.fps()).isCloseTo(12.0, within(1e-6));
      assertThat(s.width()).isEqualTo(W);
      assertThat(s.height()).isEqualTo(H);
    }
    assertThat(decode(video)).hasSize(8);
    assertThat(Npy.read(out.resolve("depth_npy/walk_depth_stack.npy")).shape()).containsExactly(8, H, W);
    assertThat(out.resolve("depth_bw/walk_000007_pred.png")).isRegularFile();
    assertThat(out.resolve("depth_colored/walk_000000_pred_colored.png")).isRegularFile();
  }

  @Test
  void framesFolderAndImagesTogether() throws IOException {
    Path frames = Files.createDirectories(tmp.resolve("shot"));
    for (int t = 0; t < 4; t++) {
      Files.copy(Golden.fixtures().resolve("images/photo_living_room_112x68.png"),
          frames.resolve("f" + t + ".png"));
    }
    Path out = tmp.resolve("out");
    CliRun r = CliRun.of("predict", Golden.fixtures().resolve("images/synthetic_gray_64x48.png").toString(),
        "--frames", frames.toString(), "--fps", "8", "--no-temporal-consistency", "--checkpoint",
        checkpoint("tiny-marigold-depth"), "--processing-res", "0", "--denoise-steps", "1", "-o", out.toString());
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(out.resolve("depth_npy/synthetic_gray_64x48_pred.npy")).isRegularFile();
    assertThat(out.resolve("depth_npy/shot_000003_pred.npy")).isRegularFile();
    assertThat(r.out()).contains("shot: 4 frames at 8.000 fps (112x68)").doesNotContain("aligned");
    try (VideoFileSource s = new VideoFileSource(out.resolve("depth_colored/shot_depth_colored.mp4"))) {
      assertThat(s.fps()).isCloseTo(8.0, within(1e-6));
      assertThat(s.declaredFrames()).isEqualTo(4);
    }
  }

  @Test
  void truncatedVideoNamesTheFrameAndKeepsEarlierFrames() throws IOException {
    Path in = clip(tmp.resolve("cut.mp4"), 16, 12);
    byte[] bytes = Files.readAllBytes(in);
    Files.write(in, java.util.Arrays.copyOf(bytes, bytes.length / 2));
    Path out = tmp.resolve("out");
    CliRun r = CliRun.of("predict", in.toString(), "--checkpoint", checkpoint("tiny-marigold-depth"),
        "--processing-res", "0", "--denoise-steps", "1", "-o", out.toString());
    assertThat(r.exitCode()).isEqualTo(1);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("cut.mp4: .*frame (\\d+).*; the (\\d+) frames? "
        + "before it are kept").matcher(r.err());
    assertThat(m.find()).as(r.err()).isTrue();
    int kept = Integer.parseInt(m.group(2));
    assertThat(m.group(1)).isEqualTo(m.group(2));
    assertThat(kept).isBetween(1, 15);
    assertThat(r.err().lines().filter(l -> l.startsWith("error:")).count()).isEqualTo(1);
    assertThat(Npy.read(out.resolve("depth_npy/cut_depth_stack.npy")).shape()[0]).isEqualTo(kept);
    assertThat(decode(out.resolve("depth_colored/cut_depth_colored.mp4"))).hasSize(kept);
    assertThat(out.resolve(String.format("depth_npy/cut_%06d_pred.npy", kept - 1))).isRegularFile();
  }

  @Test
  void normalsFamiliesGetAnHwc3Stack() {
    for (String name : new String[] {"tiny-marigold-v11-normals", "tiny-lotus-normal-d"}) {
      Path in = clip(tmp.resolve(name + ".mp4"), 3, 10);
      Path out = tmp.resolve("out-" + name);
      CliRun r = CliRun.of("predict", in.toString(), "--checkpoint", checkpoint(name), "--processing-res", "0", "--denoise-steps", "1",
          "-o", out.toString(), "--seed", "1");
      assertThat(r.exitCode()).as(r.err()).isZero();
      assertThat(Npy.read(out.resolve("normal_npy/" + name + "_normal_stack.npy")).shape())
          .containsExactly(3, H, W, 3);
      assertThat(decode(out.resolve("normal_colored/" + name + "_normal_colored.mp4"))).hasSize(3);
    }
  }

  @Test
  void latentBlendNeedsACheckpointThatTakesLatents() {
    Path in = clip(tmp.resolve("c.mp4"), 2, 10);
    CliRun r = CliRun.of("predict", in.toString(), "--checkpoint", checkpoint("tiny-marigold-depth"),
        "--latent-blend", "0.1", "-o", tmp.resolve("out").toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains("--latent-blend").contains("take no initial latents");
    CliRun bad = CliRun.of("predict", in.toString(), "--latent-blend", "1.5", "-o", tmp.resolve("o").toString());
    assertThat(bad.exitCode()).isEqualTo(2);
    assertThat(bad.err()).contains("--latent-blend must be in [0, 1]");
    CliRun method = CliRun.of("predict", in.toString(), "--temporal-alignment", "median", "-o",
        tmp.resolve("o").toString());
    assertThat(method.exitCode()).isEqualTo(2);
    assertThat(method.err()).contains("--temporal-alignment must be least-squares or symmetric, got 'median'");
  }

  @Test
  void helpDescribesTheVideoOptions() {
    CliRun r = CliRun.of("predict", "--help");
    assertThat(r.out()).contains("--frames=DIR").contains("--fps=N").contains("--no-temporal-consistency")
        .contains("--latent-blend=B").contains("--temporal-alignment=least-squares|symmetric").contains(".mp4, .mov, .mkv, .avi, .webm").contains("_stack.npy");
  }
}
