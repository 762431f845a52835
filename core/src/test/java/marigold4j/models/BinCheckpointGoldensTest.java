package marigold4j.models;

import static marigold4j.testing.Golden.assertClose;

import java.nio.file.Path;
import marigold4j.models.clip.CLIPTextModel;
import marigold4j.models.unet.UNet2DConditionModel;
import marigold4j.models.vae.AutoencoderKL;
import marigold4j.testing.Golden;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * tiny-marigold-normals stores every component as a PyTorch {@code .bin} zip pickle: the models load through the
 * restricted unpickler and reproduce that checkpoint's own goldens.
 */
class BinCheckpointGoldensTest {
  static final String CASES = "modules/tiny-marigold-normals";
  static UNet2DConditionModel unet;
  static AutoencoderKL vae;
  static CLIPTextModel textEncoder;

  @BeforeAll
  static void load() {
    Path dir = Golden.fixtures().resolve("checkpoints/tiny-marigold-normals");
    unet = UNet2DConditionModel.load(dir.resolve("unet"));
    vae = AutoencoderKL.load(dir.resolve("vae"));
    textEncoder = CLIPTextModel.load(dir.resolve("text_encoder"));
  }

  @AfterAll
  static void close() {
    unet.close();
    vae.close();
    textEncoder.close();
  }

  @ParameterizedTest
  @ValueSource(strings = {"unet_t999_empty_text", "unet_t500_max_length", "unet_per_sample_timesteps",
      "unet_odd_latent"})
  void unetFromBinReproducesItsGoldens(String caseName) {
    Golden g = Golden.load(CASES, caseName);
    try (NoGradGuard ng = new NoGradGuard()) {
      Tensor out = unet.forward(g.in("sample"), g.in("timestep"), g.in("encoder_hidden_states"));
      assertClose(out, g.out("sample"), g.atol("sample"), caseName);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"vae_encode", "vae_encode_odd"})
  void vaeEncoderFromBinReproducesItsGoldens(String caseName) {
    Golden g = Golden.load(CASES, caseName);
    try (NoGradGuard ng = new NoGradGuard()) {
      assertClose(vae.encodeMoments(g.in("image")), g.out("moments"), g.atol("moments"), caseName);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"vae_decode", "vae_decode_odd"})
  void vaeDecoderFromBinReproducesItsGoldens(String caseName) {
    Golden g = Golden.load(CASES, caseName);
    try (NoGradGuard ng = new NoGradGuard()) {
      assertClose(vae.decode(g.in("latent")), g.out("decoded"), g.atol("decoded"), caseName);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"text_empty_do_not_pad", "text_empty_max_length", "text_photo_of_a_cat_max_length"})
  void textEncoderFromBinReproducesItsGoldens(String caseName) {
    Golden g = Golden.load(CASES, caseName);
    try (NoGradGuard ng = new NoGradGuard()) {
      assertClose(textEncoder.forward(g.in("input_ids")), g.out("last_hidden_state"), g.atol("last_hidden_state"),
          caseName);
    }
  }
}
