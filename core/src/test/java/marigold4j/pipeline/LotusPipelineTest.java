package marigold4j.pipeline;

import static marigold4j.testing.Golden.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.image.ImageInput;
import marigold4j.image.Resize.Interpolation;
import marigold4j.testing.Golden;
import marigold4j.testing.TestFiles;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link LotusPipeline} against the goldens of the original LotusGPipeline / LotusDPipeline called as infer.py calls
 * them (testdata/lotus/pipelines), with the run's own seeded draws ({@link LotusNoise#seeded}). Every recorded stage is
 * compared within the case's suggested atol (20x the reference's float32-vs-float64 deviation); colourised PNG bytes
 * within the reference's own fp32-vs-fp64 mismatch count or 0.1 % of the values, by at most 3 units (Spectral) or 1
 * (normals).
 */
class LotusPipelineTest {
  private static final String CASES = "lotus/pipelines";

  static LotusOptions options(JsonNode infer) {
    Modality task = Modality.parse(infer.path("--task_name").asText());
    JsonNode res = infer.path("--processing_res");
    return new LotusOptions(task, res.isNull() ? LotusOptions.DEFAULT_PROCESSING_RES : res.asInt(),
        !infer.path("--output_processing_res").asBoolean(), Interpolation.fromMarigoldName(
            infer.path("--resample_method").asText()), infer.path("--timestep").asInt(),
        infer.path("--disparity").asBoolean());
  }

  @ParameterizedTest
  @ValueSource(strings = {"depth_g_default_res768", "depth_g_res0", "depth_g_res64_bicubic_odd",
      "depth_g_disparity_res96_odd", "depth_d_default_res768", "depth_d_res0_odd", "depth_d_res64_nearest_no_match",
      "depth_d_timestep500_res0_gray", "normal_g_res0", "normal_g_res96_rgba", "normal_d_default_res768_odd",
      "normal_d_res0"})
  void reproducesInferPy(String caseName) {
    Golden g = Golden.load(CASES, caseName);
    JsonNode json = g.json();
    LotusOptions options = options(json.path("infer_py_equivalent"));
    try (LotusPipeline p = LotusPipeline.load(Golden.fixtures().resolve(json.path("checkpoint").asText()));
        PointerScope scope = new PointerScope()) {
      assertThat(p.variant().className()).isEqualTo(json.path("pipeline").asText());
      Map<String, Double> compared = new LinkedHashMap<>();
      Prediction pred = p.predict(ImageInput.read(Golden.fixtures().resolve(json.path("input_image").asText())),
          options, LotusNoise.seeded(json.path("seed_all").asLong()), (name, t) -> {
            if (g.has(name)) {
              assertClose(t, g.tensor(name), g.atol(name), caseName + " " + name);
              compared.put(name, Tensors.maxAbsDiff(t, g.tensor(name)));
            } else {
              assertSummary(json, name, t);                  // the largest intermediates: min / max / mean only
            }
          });
      assertThat(compared).containsKeys("vae_encode.mean", "vae_encode.std", "unet.out", "final.pred");
      JsonNode tol = json.path("tolerances");
      if (options.task() == Modality.DEPTH) {
        Tensor npy = g.tensor("final.depth_npy");
        assertThat(new long[] {pred.height(), pred.width()}).isEqualTo(Tensors.shape(npy));
        assertClose(pred.toTensor(), npy, g.atol("final.depth_npy"), caseName + " depth .npy");
        PipelineCases.assertBytesClose(pred.coloredRgb(), g.tensor("final.depth_colored"),
            tol.path("final.depth_colored").path("fp32_vs_fp64"), 3, caseName + " depth PNG");
      } else {
        // the normal .npy is the decoded image in [0, 1], HWC; the prediction holds 2x - 1, CHW
        Tensor hwc = Tensors.fromFloats(pred.valuesHwc(), pred.height(), pred.width(), 3);
        assertClose(hwc.add(new org.bytedeco.pytorch.Scalar(1.0)).div(new org.bytedeco.pytorch.Scalar(2.0)),
            g.tensor("final.pred"), g.atol("final.pred"), caseName + " normal .npy");
        PipelineCases.assertBytesClose(pred.coloredRgb(), g.tensor("final.normal_colored"),
            tol.path("final.normal_colored").path("fp32_vs_fp64"), 1, caseName + " normal PNG");
      }
    }
  }

  /**
   * An intermediate the golden summarises instead of storing (over 40 000 elements): its min, max and mean within
   * the case's atol for it (the 768-pixel stages), or 1e-3 where the case gives none.
   */
  private static void assertSummary(JsonNode json, String name, Tensor t) {
    for (JsonNode s : json.path("not_stored_intermediates")) {
      if (!s.path("key").asText().equals(name)) continue;
      JsonNode tol = json.path("tolerances").path(name).path("suggested_atol");
      double atol = tol.isNumber() ? tol.asDouble() : 1e-3;
      assertThat(Tensors.shape(t)).as(name + " shape").isEqualTo(longs(s.path("shape")));
      Tensor f = t.to(org.bytedeco.pytorch.global.torch.ScalarType.Double);
      assertThat(f.min().item_double()).as(name + " min").isCloseTo(s.path("min").asDouble(), within(atol));
      assertThat(f.max().item_double()).as(name + " max").isCloseTo(s.path("max").asDouble(), within(atol));
      assertThat(f.mean().item_double()).as(name + " mean").isCloseTo(s.path("mean").asDouble(), within(atol));
      return;
    }
    throw new AssertionError(name + ": neither stored nor summarised in the golden");
  }

  private static long[] longs(JsonNode a) {
    long[] out = new long[a.size()];
    for (int i = 0; i < out.length; i++) out[i] = a.get(i).asLong();
    return out;
  }

  @ParameterizedTest
  @ValueSource(strings = {"depth_g_res0", "depth_d_res0_odd", "normal_g_res96_rgba"})
  void passesTheTaskEmbeddingTimestepAndEmptyPromptTheOriginalPasses(String caseName) {
    Golden g = Golden.load(CASES, caseName);
    assertThat(LotusPipeline.annotationTaskEmbedding()).containsExactly(Tensors.toFloats(g.tensor("unet.class_labels")));
    assertThat(Tensors.toLongs(g.tensor("unet.timestep"))).containsExactly(LotusOptions.DEFAULT_TIMESTEP);
  }

  /** Lotus-G's noise latent and the VAE sample's eps: both the first draws of a seed-s stream, bit for bit. */
  @ParameterizedTest
  @ValueSource(strings = {"depth_g_res64_bicubic_odd", "depth_d_default_res768", "normal_g_res96_rgba"})
  void seededDrawsAreTheOriginals(String caseName) {
    Golden g = Golden.load(CASES, caseName);
    JsonNode draws = g.json().path("random_draws");
    LotusNoise noise = LotusNoise.seeded(g.json().path("seed_all").asLong());
    boolean generative = g.json().path("pipeline").asText().equals("LotusGPipeline");
    for (int i = 0; i < draws.size(); i++) {
      JsonNode d = draws.get(i);
      long[] shape = longs(d.path("shape"));
      boolean latent = generative && i == 0;
      Tensor drawn = latent ? noise.latentNoise(shape) : noise.posteriorNoise(shape);
      assertThat(Tensors.toFloats(drawn)).as("draw " + i).containsExactly(
          Tensors.toFloats(g.tensor(d.path("key").asText())));
    }
  }

  @Test
  void identifiesBothVariantsFromTheirContents() {
    assertThat(LotusPipeline.identify(Golden.fixtures().resolve("checkpoints/tiny-lotus-depth-g")))
        .hasValueSatisfying(id -> assertThat(id.variant()).isEqualTo(LotusPipeline.Variant.G));
    assertThat(LotusPipeline.identify(Golden.fixtures().resolve("checkpoints/tiny-lotus-normal-d")))
        .hasValueSatisfying(id -> assertThat(id.variant()).isEqualTo(LotusPipeline.Variant.D));
    assertThat(LotusPipeline.identify(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth"))).isEmpty();
    assertThat(LotusPipeline.identify(Golden.fixtures().resolve("checkpoints/tiny-geowizard"))).isEmpty();
  }

  @Test
  void refusesALotusPipelineWhoseUnetCannotTakeTheTaskEmbedding(@TempDir Path tmp) throws IOException {
    Path ckpt = tmp.resolve("broken-lotus");
    TestFiles.copyTree(Golden.fixtures().resolve("checkpoints/tiny-lotus-depth-g"), ckpt);
    Path unet = ckpt.resolve("unet");
    TestFiles.copyTree(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth/unet"), tmp.resolve("marigold"));
    for (String f : new String[] {"config.json", "diffusion_pytorch_model.safetensors"}) {
      Files.copy(tmp.resolve("marigold").resolve(f), unet.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    assertThatThrownBy(() -> LotusPipeline.load(ckpt))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining(unet.resolve("config.json").toString())
        .hasMessageContaining("cannot take Lotus' task embedding");
  }

  @Test
  void refusesAGenerativePipelineWithADiscriminativeUnet(@TempDir Path tmp) throws IOException {
    Path ckpt = tmp.resolve("mixed");
    TestFiles.copyTree(Golden.fixtures().resolve("checkpoints/tiny-lotus-depth-g"), ckpt);
    TestFiles.copyTree(Golden.fixtures().resolve("checkpoints/tiny-lotus-depth-d/unet"), tmp.resolve("d-unet"));
    for (String f : new String[] {"config.json", "diffusion_pytorch_model.safetensors"}) {
      Files.copy(tmp.resolve("d-unet").resolve(f), ckpt.resolve("unet").resolve(f),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    assertThatThrownBy(() -> LotusPipeline.identify(ckpt))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("LotusGPipeline feeds its UNet 8 channels")
        .hasMessageContaining("in_channels is 4");
  }

  /** Lotus' releases carry a PNDM scheduler and a feature extractor that nothing uses: neither is even read. */
  @Test
  void ignoresTheSchedulerAndTheFeatureExtractor(@TempDir Path tmp) throws IOException {
    Path ckpt = tmp.resolve("lotus-depth-d");
    TestFiles.copyTree(Golden.fixtures().resolve("checkpoints/tiny-lotus-depth-d"), ckpt);
    Files.writeString(ckpt.resolve("scheduler/scheduler_config.json"), "{\"_class_name\": \"SomeFutureScheduler\"");
    Files.writeString(ckpt.resolve("feature_extractor/preprocessor_config.json"), "not json");
    Path index = ckpt.resolve("model_index.json");
    Files.writeString(index, Files.readString(index).replace("PNDMScheduler", "SomeFutureScheduler"));
    try (LotusPipeline p = LotusPipeline.load(ckpt)) {
      assertThat(p.variant()).isEqualTo(LotusPipeline.Variant.D);
    }
  }

  @Test
  void keepsNativeMemoryFlatOverImages() {
    Golden.load(CASES, "depth_g_res0");                               // engine + threads as the goldens run
    try (LotusPipeline p = LotusPipeline.load(Golden.fixtures().resolve("checkpoints/tiny-lotus-depth-g"))) {
      var image = ImageInput.read(Golden.fixtures().resolve("images/synthetic_gray_64x48.png"));
      LotusNoise noise = LotusNoise.seeded(0);
      LotusOptions options = LotusOptions.inferPyDefaults(Modality.DEPTH).withProcessingRes(64);
      marigold4j.testing.NativePointers.assertFlatOverScopedRounds(4, "Lotus predict",
          () -> assertThat(p.predict(image, options, noise).width()).isEqualTo(64));
    }
  }

  @Test
  void needsNoiseEvenForLotusD() {
    try (LotusPipeline p = LotusPipeline.load(Golden.fixtures().resolve("checkpoints/tiny-lotus-depth-d"))) {
      assertThatThrownBy(() -> p.predict(ImageInput.read(Golden.fixtures().resolve("images/synthetic_gray_64x48.png")),
          LotusOptions.inferPyDefaults(Modality.DEPTH), null))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("samples the VAE posterior");
    }
  }
}
