package marigold4j.pipeline.diffusers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.image.Resize.Interpolation;
import marigold4j.pipeline.Precision;
import marigold4j.pipeline.diffusers.MarigoldEnsembles.DepthSettings;
import marigold4j.pipeline.diffusers.MarigoldEnsembles.Reduction;
import marigold4j.testing.Golden;
import marigold4j.torch.F;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every pipeline case of {@code testdata/diffusers_marigold/} (diffusers 0.33.1's Marigold depth / normals / LCM /
 * intrinsics pipelines on the tiny v1.1, LCM and IID checkpoints), reproduced through {@link MarigoldDiffusersPipeline}
 * with the case's arguments and random draws: the prediction, the uncertainty and the final latents within each
 * tensor's {@code suggested_atol} (20 x the float64 deviation; for depth ensembles it also covers scipy's BFGS taking
 * a different path on rounding noise, see the case's {@code bfgs_path_note}).
 */
class MarigoldDiffusersPipelineTest {
  static final Map<String, MarigoldDiffusersPipeline> PIPELINES = new HashMap<>();

  static MarigoldDiffusersPipeline pipeline(String checkpoint) {
    return PIPELINES.computeIfAbsent(checkpoint, c -> MarigoldDiffusersPipeline.load(
        Golden.fixtures().resolve(c), Precision.FP32, "cpu"));
  }

  @AfterAll
  static void close() {
    PIPELINES.values().forEach(MarigoldDiffusersPipeline::close);
    PIPELINES.clear();
  }

  static Stream<String> cases() {
    JsonNode index = Golden.readJson(Golden.fixtures().resolve("diffusers_marigold/index.json"));
    List<String> out = new ArrayList<>();
    index.path("cases").fields().forEachRemaining(e -> {
      if (e.getValue().path("kind").asText().equals("pipeline")
          && !e.getValue().path("expected_error").asBoolean()) {
        out.add(e.getKey());
      }
    });
    return out.stream();
  }

  /** The case's call arguments over the checkpoint's defaults, as diffusers resolves them. */
  static MarigoldDiffusersOptions options(MarigoldDiffusersPipeline p, JsonNode kw) {
    MarigoldDiffusersOptions o = p.defaults();
    if (kw.has("num_inference_steps")) o = o.withNumInferenceSteps(kw.get("num_inference_steps").asInt());
    if (kw.has("processing_resolution")) o = o.withProcessingResolution(kw.get("processing_resolution").asInt());
    if (kw.has("match_input_resolution")) o = o.withMatchInputResolution(kw.get("match_input_resolution").asBoolean());
    if (kw.has("batch_size")) o = o.withBatchSize(kw.get("batch_size").asInt());
    o = o.withResample(Interpolation.fromTorchName(kw.path("resample_method_input").asText("bilinear")),
        Interpolation.fromTorchName(kw.path("resample_method_output").asText("bilinear")));
    JsonNode ek = kw.path("ensembling_kwargs");
    Reduction reduction = ek.has("reduction") ? Reduction.parse(ek.get("reduction").asText()) : o.reduction();
    o = o.withEnsemble(kw.path("ensemble_size").asInt(1), reduction, kw.path("output_uncertainty").asBoolean(false));
    DepthSettings d = DepthSettings.defaults();
    o = o.withDepthEnsemble(new DepthSettings(ek.path("regularizer_strength").asDouble(d.regularizerStrength()),
        ek.path("max_iter").asInt(d.maxIter()), ek.path("tol").asDouble(d.tol()), d.maxRes()));
    return o.withOutputLatent(kw.path("output_latent").asBoolean(false));
  }

  static List<Tensor> images(Golden g) {
    List<Tensor> out = new ArrayList<>();
    if (g.has("input.image")) {
      out.add(MarigoldImageProcessor.canonical(g.tensor("input.image"), "input.image"));
    } else {
      for (int i = 0; g.has("input.image" + i); i++) {
        out.add(MarigoldImageProcessor.canonical(g.tensor("input.image" + i), "input.image" + i));
      }
    }
    return out;
  }

  @TestFactory
  Stream<DynamicTest> reproducesDiffusers() {
    return cases().map(name -> DynamicTest.dynamicTest(name, () -> {
      Golden g = Golden.load("diffusers_marigold", name);
      JsonNode j = g.json();
      MarigoldDiffusersPipeline p = pipeline(j.path("checkpoint").asText());
      try (PointerScope scope = new PointerScope()) {
        MarigoldDiffusersOptions o = options(p, j.path("call_kwargs"));
        Tensor latents = g.has("input.latents") ? g.tensor("input.latents") : null;
        MarigoldDiffusersPipeline.Randn noise;
        if (!j.path("generator").isNull() && j.path("generator").has("manual_seed")) {
          Generator gen = F.generator(j.path("generator").path("manual_seed").asLong());
          noise = shape -> F.randn(shape, gen, torch.ScalarType.Float);
        } else {
          torch.manual_seed(j.path("torch_manual_seed_before_call").asLong());
          noise = shape -> F.randn(shape, torch.ScalarType.Float, new org.bytedeco.pytorch.Device("cpu"));
        }
        MarigoldDiffusersPipeline.Output out = p.predict(images(g), o, latents, noise);
        // np output: (N, H, W, C)
        Tensor pred = out.prediction().toTensor().permute(0, 2, 3, 1).contiguous();
        Golden.assertClose(pred, g.tensor("output.prediction"), g.atol("output.prediction"), name + " prediction");
        if (g.has("output.uncertainty")) {
          assertThat(out.uncertainty()).as(name + " uncertainty").isNotNull();
          Tensor unc = out.uncertainty().toTensor().permute(0, 2, 3, 1).contiguous();
          Golden.assertClose(unc, g.tensor("output.uncertainty"), g.atol("output.uncertainty"),
              name + " uncertainty");
        } else {
          assertThat(out.uncertainty()).isNull();
        }
        if (g.has("output.latent")) {
          Golden.assertClose(out.latent().toTensor(), g.tensor("output.latent"), g.atol("output.latent"),
              name + " latent");
        }
        assertThat(p.scheduler().timesteps()).containsExactly(
            java.util.stream.StreamSupport.stream(j.path("timesteps").spliterator(), false)
                .mapToLong(JsonNode::asLong).toArray());
      }
    }));
  }

  /** Every recorded draw of the generator cases, bit for bit: a seeded CPU generator draws what torch's does. */
  @Test
  void seededDrawsAreTorchsGeneratorDraws() {
    for (String name : List.of("depth_res64_bicubic_generator", "lcm_depth_4steps_generator")) {
      Golden g = Golden.load("diffusers_marigold", name);
      try (PointerScope scope = new PointerScope()) {
        Generator gen = F.generator(g.json().path("generator").path("manual_seed").asLong());
        for (JsonNode d : g.json().path("random_draws")) {
          long[] shape = java.util.stream.StreamSupport.stream(d.path("shape").spliterator(), false)
              .mapToLong(JsonNode::asLong).toArray();
          Golden.assertClose(F.randn(shape, gen, torch.ScalarType.Float), g.tensor(d.path("key").asText()), 0.0,
              name + " " + d.path("key").asText());
        }
      }
    }
  }

  /** Calls free what they allocate: native pointers stay flat over repeated ensembles with LCM's per-step noise. */
  @Test
  void nativeMemoryStaysFlatOverCalls() {
    MarigoldDiffusersPipeline p = pipeline("checkpoints/tiny-marigold-lcm-depth");
    Golden g = Golden.load("diffusers_marigold", "lcm_depth_default_1step");
    List<Tensor> img = images(g);
    MarigoldDiffusersOptions o = p.defaults().withProcessingResolution(32).withNumInferenceSteps(2)
        .withEnsemble(3, Reduction.MEDIAN, true).withOutputLatent(true);
    marigold4j.testing.NativePointers.assertFlatOverScopedRounds(4, "diffusers call", () -> {
      MarigoldDiffusersPipeline.Output out = p.predict(img, o, null,
          shape -> F.randn(shape, torch.ScalarType.Float, new org.bytedeco.pytorch.Device("cpu")));
      assertThat(out.prediction().shape()).containsExactly(1L, 1L, 96L, 128L);
    });
  }

  @Test
  void rgbaIsRefusedAsDiffusersRefusesIt() {
    Golden g = Golden.load("diffusers_marigold", "depth_rgba_raises");
    assertThatThrownBy(() -> MarigoldImageProcessor.canonical(g.tensor("input.image"), "synthetic_rgba_80x60.png"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("synthetic_rgba_80x60.png").hasMessageContaining("not 1- or 3-channel");
  }

  @Test
  void unsupportedReductionsAreRefusedPerTask() {
    MarigoldDiffusersPipeline normals = pipeline("checkpoints/tiny-marigold-v11-normals");
    Golden g = Golden.load("diffusers_marigold", "normals_res0_single");
    MarigoldDiffusersOptions o = normals.defaults().withProcessingResolution(32).withNumInferenceSteps(1)
        .withEnsemble(2, Reduction.MEDIAN, false);
    assertThatThrownBy(() -> normals.predict(images(g), o, null,
        shape -> F.randn(shape, torch.ScalarType.Float, new org.bytedeco.pytorch.Device("cpu"))))
        .hasMessageContaining("median").hasMessageContaining("normals");
  }

  @Test
  void intrinsicsCheckpointWhoseUnetDoesNotFitItsTargetsIsRefused(@org.junit.jupiter.api.io.TempDir Path tmp)
      throws Exception {
    Path src = Golden.fixtures().resolve("checkpoints/tiny-marigold-iid-appearance");
    Path dst = tmp.resolve("iid");
    copy(src, dst);
    // declare a third target: the UNet's 12 / 8 channels fit two
    Path index = dst.resolve("model_index.json");
    String json = java.nio.file.Files.readString(index).replace("\"target_names\": [\n      \"albedo\",\n"
        + "      \"material\"\n    ]", "\"target_names\": [\"albedo\", \"material\", \"shading\"]");
    assertThat(json).contains("shading");
    java.nio.file.Files.writeString(index, json);
    assertThatThrownBy(() -> MarigoldDiffusersPipeline.load(dst, Precision.FP32, "cpu"))
        .isInstanceOf(CheckpointException.class).hasMessageContaining("unet").hasMessageContaining("config.json")
        .hasMessageContaining("3 target(s)");
  }

  @Test
  void unknownPredictionTypeIsRefused(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
    Path dst = tmp.resolve("x");
    copy(Golden.fixtures().resolve("checkpoints/tiny-marigold-v11-depth"), dst);
    Path index = dst.resolve("model_index.json");
    java.nio.file.Files.writeString(index, java.nio.file.Files.readString(index)
        .replace("\"prediction_type\": \"depth\"", "\"prediction_type\": \"albedo\""));
    assertThatThrownBy(() -> MarigoldDiffusersPipeline.load(dst, Precision.FP32, "cpu"))
        .isInstanceOf(CheckpointException.class).hasMessageContaining("model_index.json")
        .hasMessageContaining("unknown prediction_type 'albedo'");
  }

  static void copy(Path src, Path dst) throws java.io.IOException {
    try (Stream<Path> files = java.nio.file.Files.walk(src)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Path to = dst.resolve(src.relativize(f).toString());
        if (java.nio.file.Files.isDirectory(f)) {
          java.nio.file.Files.createDirectories(to);
        } else {
          java.nio.file.Files.copy(f, to);   // follows links: a self-contained copy
        }
      }
    }
  }
}
