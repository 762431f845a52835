package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import marigold4j.image.Npy;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code predict} with diffusers' Marigold checkpoints: the command line equivalent to a golden call of diffusers
 * 0.33.1 writes that call's prediction (within the case's tolerance), and options that do not fit the checkpoint fail
 * before anything is written.
 */
class PredictDiffusersTest {
  static final Path IMAGE = Golden.fixtures().resolve("images/photo_coco_cats_128x96.png");

  @Test
  void seededDepthCallAsDiffusersWithAGenerator(@TempDir Path tmp) {
    // depth_res64_bicubic_generator: processing_resolution 64, 2 steps, bicubic in and out, Generator seed 1234
    Golden g = Golden.load("diffusers_marigold", "depth_res64_bicubic_generator");
    CliRun r = CliRun.of("predict", IMAGE.toString(), "--checkpoint",
        Golden.fixtures().resolve("checkpoints/tiny-marigold-v11-depth").toString(), "-o", tmp.toString(),
        "--processing-res", "64", "--denoise-steps", "2", "--resample-method", "bicubic", "--seed", "1234");
    assertThat(r.exitCode()).as(r.err()).isZero();
    Npy.Array a = Npy.read(tmp.resolve("depth_npy/photo_coco_cats_128x96_pred.npy"));
    assertThat(a.shape()).containsExactly(96L, 128L);
    Golden.assertClose(Npy.toTensor(a).reshape(1, 96, 128, 1), g.tensor("output.prediction"),
        g.atol("output.prediction"), "depth_npy");
    assertThat(tmp.resolve("depth_bw/photo_coco_cats_128x96_pred.png")).isRegularFile();
    assertThat(tmp.resolve("depth_colored/photo_coco_cats_128x96_pred_colored.png")).isRegularFile();
  }

  @Test
  void normalsEnsembleWithUncertaintyAndLatents(@TempDir Path tmp) {
    // normals_ens3_mean_bs2_uncertainty's settings, global-RNG draws aside: the files and their shapes
    CliRun r = CliRun.of("predict", Golden.fixtures().resolve("images/photo_coco_cats_crop_101x75.png").toString(),
        "--checkpoint", Golden.fixtures().resolve("checkpoints/tiny-marigold-v11-normals").toString(),
        "-o", tmp.toString(), "--processing-res", "64", "--ensemble-size", "3", "--batch-size", "2",
        "--ensemble-reduction", "mean", "--resample-method-input", "bicubic", "--resample-method-output", "bicubic",
        "--output-uncertainty", "--output-latent", "--seed", "12");
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(Npy.read(tmp.resolve("normal_npy/photo_coco_cats_crop_101x75_pred.npy")).shape())
        .containsExactly(75L, 101L, 3L);
    assertThat(Npy.read(tmp.resolve("normal_uncertainty_npy/photo_coco_cats_crop_101x75_uncertainty.npy")).shape())
        .containsExactly(75L, 101L);
    assertThat(Npy.read(tmp.resolve("latent/photo_coco_cats_crop_101x75_latent.npy")).shape())
        .containsExactly(3L, 4L, 6L, 8L);
    assertThat(tmp.resolve("normal_uncertainty/photo_coco_cats_crop_101x75_uncertainty.png")).isRegularFile();
  }

  @Test
  void aReductionTheTaskDoesNotSupportIsAClearError(@TempDir Path tmp) {
    CliRun r = CliRun.of("predict", IMAGE.toString(), "--checkpoint",
        Golden.fixtures().resolve("checkpoints/tiny-marigold-v11-normals").toString(), "-o", tmp.toString(),
        "--processing-res", "32", "--ensemble-size", "2", "--ensemble-reduction", "median");
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.err()).contains("median").contains("normals").doesNotContain("\tat ");
  }

  @Test
  void diffusersOnlyOptionsAreRefusedForRunPyCheckpoints(@TempDir Path tmp) {
    CliRun r = CliRun.of("predict", IMAGE.toString(), "--checkpoint",
        Golden.fixtures().resolve("checkpoints/tiny-marigold-depth").toString(), "-o", tmp.toString(),
        "--output-uncertainty");
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.err()).contains("--output-uncertainty").contains("diffusers");
  }
}
