package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import marigold4j.testing.Golden;
import marigold4j.testing.TestFiles;
import marigold4j.train.MetricsLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainCommandTest {
  static final Path FIX = Golden.fixtures();
  static final String BASE = FIX.resolve("checkpoints/tiny-marigold-depth").toString();
  static final String HYPERSIM = FIX.resolve("train_data/hypersim/data/hypersim/processed").toString();
  static final String GEOWIZARD = FIX.resolve("checkpoints/tiny-geowizard").toString();

  @TempDir Path tmp;

  @Test
  void helpExplainsEveryOptionOfTheIssue() {
    CliRun r = CliRun.of("train", "--help");
    assertThat(r.exitCode()).isZero();
    for (String o : new String[] {"--base", "--modality", "--output", "--hypersim-dir", "--vkitti-dir",
        "--max-train-steps", "--train-batch-size", "--gradient-accumulation-steps", "--learning-rate",
        "--lr-exp-warmup-steps", "--lr-total-iter-length", "--checkpointing-steps", "--checkpoints-total-limit",
        "--resume-from-checkpoint", "--noise-type", "--seed", "--no-shuffle", "--hflip-prob", "--mixed-precision",
        "--gradient-checkpointing", "--class-embedding-lr-mult", "--lr-warmup-steps", "--offline"}) {
      assertThat(r.out()).contains(o);
    }
    assertThat(r.out()).contains("depth_normals").contains("GeoWizard").contains("ID_OR_DIR");
    assertThat(r.out()).contains("default: 20000").contains("default: 16").contains("default: 3e-5")
        .contains("MALLOC_ARENA_MAX");
  }

  @Test
  void missingDataIsOneClearLineNotAStackTrace() {
    CliRun r = CliRun.of("train", "--base", BASE, "--modality", "depth", "--output", tmp.toString(),
        "--noise-type", "zeros", "--hypersim-dir", tmp.resolve("nope").toString());
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.err()).contains("nope").contains("Hypersim folder not found").doesNotContain("Exception");
  }

  @Test
  void eightChannelBaseWithoutNoiseTypeIsRejectedWithAHint() {
    CliRun r = CliRun.of("train", "--base", BASE, "--modality", "depth", "--output", tmp.toString(),
        "--hypersim-dir", HYPERSIM, "--max-train-steps", "1");
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.err()).contains("noise type").doesNotContain("Exception");
  }

  @Test
  void trainsOnHypersimWritesCheckpointLogAndPipelineThenPlotsTheLog() throws Exception {
    Path out = tmp.resolve("run");
    CliRun r = CliRun.of("train", "--base", BASE, "--modality", "depth", "--output", out.toString(),
        "--hypersim-dir", HYPERSIM, "--noise-type", "zeros", "--max-train-steps", "2", "--train-batch-size", "1",
        "--gradient-accumulation-steps", "1", "--checkpointing-steps", "1", "--checkpoints-total-limit", "1",
        "--lr-exp-warmup-steps", "0", "--no-shuffle", "--hflip-prob", "0", "--seed", "3");
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out()).contains("step 1/2").contains("step 2/2").contains("saved the fine-tuned pipeline");
    assertThat(out.resolve("checkpoint-1")).doesNotExist();
    assertThat(out.resolve("checkpoint-2/optimizer.pt")).exists();
    assertThat(out.resolve("model_index.json")).exists();
    assertThat(out.resolve("unet/diffusion_pytorch_model.safetensors")).exists();
    assertThat(Files.readString(out.resolve("scheduler/scheduler_config.json"))).contains("\"trailing\"");
    assertThat(MetricsLog.read(out.resolve(MetricsLog.DEFAULT_FILE))).extracting(MetricsLog.Entry::step)
        .containsExactly(1L, 2L);

    Path png = tmp.resolve("curves.png");
    CliRun p = CliRun.of("plot-log", out.toString(), "--output", png.toString());
    assertThat(p.exitCode()).as(p.err()).isZero();
    BufferedImage img = ImageIO.read(png.toFile());
    assertThat(img.getWidth()).isEqualTo(1000);
    assertThat(img.getHeight()).isEqualTo(700);
  }

  @Test
  void trainsWithGradientCheckpointing() throws Exception {
    Path out = tmp.resolve("ckpt");
    CliRun r = CliRun.of("train", "--base", BASE, "--modality", "depth", "--output", out.toString(),
        "--hypersim-dir", HYPERSIM, "--noise-type", "zeros", "--max-train-steps", "1", "--train-batch-size", "1",
        "--gradient-accumulation-steps", "1", "--lr-exp-warmup-steps", "0", "--no-shuffle", "--hflip-prob", "0",
        "--gradient-checkpointing");
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out()).contains("step 1/1").contains("saved the fine-tuned pipeline").doesNotContain("not implemented");
    assertThat(Files.readString(out.resolve("arguments.txt"))).contains("gradient_checkpointing: true");
  }

  /**
   * A Virtual KITTI 2 tree holding one small frame: the fixture's 124 x 40 frame cut to 120 x 40 (the VAE needs sides
   * divisible by 8; a frame smaller than the KITTI benchmark crop is kept whole, as Python's slicing keeps it). One
   * cheap outdoor item: Hypersim items are always resized to 480 x 640, where one GeoWizard step (two UNet rows,
   * joint attention over 2 x 4800 tokens) takes minutes on a busy two-core machine.
   */
  private Path smallVkitti() throws Exception {
    Path from = FIX.resolve("train_data/vkitti/data/virtual_kitti_2");
    Path to = tmp.resolve("vkitti");
    String rgb = "vkitti_2.0.3_rgb/Scene02/fog/frames/rgb/Camera_1/rgb_00004.jpg";
    String depth = "vkitti_2.0.3_depth/Scene02/fog/frames/depth/Camera_1/depth_00004.png";
    String normal = "vkitti_DAG_normals/Scene02/fog/frames/normal/Camera_1/normal_00004.png";
    for (String f : new String[] {rgb, depth, normal}) Files.createDirectories(to.resolve(f).getParent());
    int w = 120;
    int h = 40;
    BufferedImage rgbIn = ImageIO.read(from.resolve(rgb).toFile());
    BufferedImage rgbOut = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    rgbOut.getGraphics().drawImage(rgbIn, 0, 0, null);
    ImageIO.write(rgbOut, "jpg", to.resolve(rgb).toFile());
    BufferedImage normalIn = ImageIO.read(from.resolve(normal).toFile());
    BufferedImage normalOut = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int px = 0;
        for (int c = 0; c < 3; c++) px = (px << 8) | (normalIn.getRaster().getSample(x, y, c) >> 8); // high byte
        normalOut.setRGB(x, y, px);
      }
    }
    ImageIO.write(normalOut, "png", to.resolve(normal).toFile());
    int[] values = new int[w * h];
    java.awt.image.Raster depthIn = ImageIO.read(from.resolve(depth).toFile()).getRaster();
    for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) values[y * w + x] = depthIn.getSample(x, y, 0);
    marigold4j.image.Png16.writeValues(to.resolve(depth), values, w, h);
    return to;
  }

  @Test
  void trainsGeoWizardDepthAndNormalsIntoAPipelinePredictLoads() throws Exception {
    Path out = tmp.resolve("geowizard");
    String[] common = {"train", "--base", GEOWIZARD, "--output", out.toString(), "--vkitti-dir",
        smallVkitti().toString(), "--noise-type", "gaussian", "--train-batch-size", "1",
        "--gradient-accumulation-steps", "1", "--checkpointing-steps", "1", "--lr-warmup-steps", "0",
        "--class-embedding-lr-mult", "5", "--seed", "4", "--max-train-steps", "2"};
    // no --modality: a GeoWizard base trains depth and normals together
    CliRun first = CliRun.of(common);
    assertThat(first.exitCode()).as(first.err()).isZero();
    assertThat(first.out()).contains("training depth_normals").contains("step 1/2").contains("step 2/2");
    assertThat(out.resolve("checkpoint-1/random_states.json")).exists();
    List<String> log = Files.readAllLines(out.resolve(MetricsLog.DEFAULT_FILE));
    assertThat(log).hasSize(2).allSatisfy(l -> assertThat(l).contains("ssi_loss").contains("normals_angular_loss"));
    String args = Files.readString(out.resolve("arguments.txt"));
    assertThat(args).contains("modality: depth_normals").contains("class_embedding_lr_mult: 5.0")
        .contains("lr_exp_warmup_steps: 0");
    // resumed from checkpoint-1 (weights, both AdamW groups, data position, generators), step 2 comes out the same
    Path resumed = tmp.resolve("resumed");
    TestFiles.copyTree(out.resolve("checkpoint-1"), resumed.resolve("checkpoint-1"));
    // a checkpoint save that a kill interrupted (kill -9 during step 2's save) is cleaned up and named
    TestFiles.copyTree(out.resolve("checkpoint-1"), resumed.resolve(".checkpoint-2.x7q.tmp"));
    CliRun again = CliRun.of(concat(replace(common, out.toString(), resumed.toString()), "--modality",
        "depth_normals", "--resume-from-checkpoint", "latest"));
    assertThat(again.exitCode()).as(again.err()).isZero();
    assertThat(again.out()).doesNotContain("step 1/2").contains("step 2/2").contains("saved the fine-tuned pipeline")
        .contains("removed .checkpoint-2.x7q.tmp (an interrupted checkpoint save)").contains("resuming from checkpoint-1");
    assertThat(resumed.resolve(".checkpoint-2.x7q.tmp")).doesNotExist();
    assertThat(Files.readAllBytes(resumed.resolve("unet/diffusion_pytorch_model.safetensors")))
        .as("weights after the resumed run vs the uninterrupted one")
        .isEqualTo(Files.readAllBytes(out.resolve("unet/diffusion_pytorch_model.safetensors")));
    assertThat(Files.readString(out.resolve("model_index.json"))).contains("DepthNormalEstimationPipeline");

    Path images = Files.createDirectories(tmp.resolve("in"));
    Files.copy(FIX.resolve("images/photo_living_room_112x68.png"), images.resolve("room.png"));
    Path predicted = tmp.resolve("pred");
    CliRun p = CliRun.of("predict", "--checkpoint", out.toString(), "--domain", "indoor", "--processing-res", "64",
        "--output", predicted.toString(), images.toString());
    assertThat(p.exitCode()).as(p.err()).isZero();
    assertThat(predicted.resolve("depth_npy/room_pred.npy")).exists();
    assertThat(predicted.resolve("normal_npy/room_pred.npy")).exists();
  }

  @Test
  void aModalityThatDoesNotFitTheBaseIsOneClearLine() {
    CliRun geo = CliRun.of("train", "--base", GEOWIZARD, "--modality", "depth", "--output", tmp.toString(),
        "--hypersim-dir", HYPERSIM, "--noise-type", "zeros");
    assertThat(geo.exitCode()).isNotZero();
    assertThat(geo.err()).contains("GeoWizard checkpoint").contains("depth_normals").doesNotContain("Exception");
    CliRun marigold = CliRun.of("train", "--base", BASE, "--modality", "depth_normals", "--output", tmp.toString(),
        "--hypersim-dir", HYPERSIM, "--noise-type", "zeros");
    assertThat(marigold.exitCode()).isNotZero();
    assertThat(marigold.err()).contains("not a GeoWizard checkpoint").doesNotContain("Exception");
    CliRun none = CliRun.of("train", "--base", BASE, "--output", tmp.toString(), "--hypersim-dir", HYPERSIM);
    assertThat(none.exitCode()).isNotZero();
    assertThat(none.err()).contains("--modality is required").doesNotContain("Exception");
    CliRun noNoise = CliRun.of("train", "--base", GEOWIZARD, "--output", tmp.toString(), "--hypersim-dir", HYPERSIM);
    assertThat(noNoise.exitCode()).isNotZero();
    assertThat(noNoise.err()).contains("--noise-type").doesNotContain("Exception");
  }

  private static String[] replace(String[] a, String from, String to) {
    String[] out = a.clone();
    for (int i = 0; i < out.length; i++) if (out[i].equals(from)) out[i] = to;
    return out;
  }


  private static String[] concat(String[] a, String... b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void plotLogOfAMissingFileIsAClearError() {
    CliRun r = CliRun.of("plot-log", tmp.resolve("none.jsonl").toString());
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.err()).contains("none.jsonl").contains("not found").doesNotContain("Exception");
  }
}
