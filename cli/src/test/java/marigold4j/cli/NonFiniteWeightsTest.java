package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import marigold4j.testing.Golden;
import marigold4j.testing.TestFiles;
import marigold4j.weights.SafeTensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint with NaN weights: {@code predict} reports the image as failed (exit 1) and writes no all-NaN file;
 * {@code inspect --check-finite} names the tensor. Before, predict wrote an all-NaN .npy and exited 0 without a word.
 */
class NonFiniteWeightsTest {
  static final Path TINY_DEPTH = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth");

  /** A copy of the tiny depth checkpoint whose UNet {@code conv_out.bias} is NaN. */
  private static Path poisoned(Path tmp) throws Exception {
    Path copy = tmp.resolve("nan-model");
    TestFiles.copyTree(TINY_DEPTH, copy);
    Path weights = copy.resolve("unet/diffusion_pytorch_model.safetensors");
    try (PointerScope scope = new PointerScope()) {
      Map<String, Tensor> t = new LinkedHashMap<>(SafeTensors.load(weights));
      t.put("conv_out.bias", torch.full_like(t.get("conv_out.bias"), new org.bytedeco.pytorch.Scalar(Double.NaN)));
      SafeTensors.save(weights, t, null);
    }
    return copy;
  }

  @Test
  void predictFailsTheImageAndWritesNothing(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("o");
    Path image = Golden.fixtures().resolve("images/synthetic_gray_64x48.png");
    CliRun r = CliRun.of("predict", "--checkpoint", poisoned(tmp).toString(), "--processing-res", "64", "-o",
        out.toString(), image.toString());
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err()).contains("error: " + image + ": the depth map has 3072 of 3072 values NaN or infinite")
        .contains("inspect --check-finite");
    assertThat(out.resolve("depth_npy/synthetic_gray_64x48_pred.npy")).doesNotExist();
    assertThat(r.out()).contains("0 of 1 images").contains("1 failed");
  }

  @Test
  void inspectNamesTheNonFiniteWeight(@TempDir Path tmp) throws Exception {
    CliRun bad = CliRun.of("inspect", "--check-finite", poisoned(tmp).toString());
    assertThat(bad.exitCode()).isEqualTo(1);
    assertThat(bad.out()).contains("non-finite weight in unet: conv_out.bias: 4 of 4");
    CliRun good = CliRun.of("inspect", "--check-finite", TINY_DEPTH.toString());
    assertThat(good.exitCode()).isZero();
    assertThat(good.out()).contains("all weights finite");
  }
}
