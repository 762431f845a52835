package marigold4j.pipeline;

import static marigold4j.testing.Golden.assertClose;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import marigold4j.image.ImageInput;
import marigold4j.image.Npy;
import marigold4j.image.PilImage;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.random.NoiseSource;
import marigold4j.random.NumpyRandom;
import marigold4j.random.RecordedNoise;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;
import marigold4j.testing.Golden;
import marigold4j.testing.NativePointers;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Every GeoWizard pipeline call recorded from the original (testdata/pipelines/index_geowizard.json). */
class GeoWizardPipelineTest {
  static GeoWizardPipeline pipe;

  @BeforeAll
  static void load() {
    pipe = GeoWizardPipeline.load(Golden.fixtures().resolve("checkpoints/tiny-geowizard"));
  }

  @AfterAll
  static void close() {
    pipe.close();
  }

  static GeoWizardOptions options(JsonNode json) {
    JsonNode k = json.path("call_kwargs");
    return new GeoWizardOptions(
        k.path("denoising_steps").asInt(),
        k.path("ensemble_size").asInt(),
        k.path("processing_res").asInt(),
        k.path("match_input_res").asBoolean(true),
        k.path("batch_size").asInt(0),
        k.path("color_map").isNull() ? null : k.path("color_map").asText("Spectral"),
        NoiseType.parse(k.path("noise").asText()),
        Domain.parse(k.path("domain").asText()),
        TimestepSpacing.parse(json.path("scheduler_timestep_spacing").asText()));
  }

  static List<JsonNode> index() {
    List<JsonNode> out = new ArrayList<>();
    Golden.readJson(Golden.fixtures().resolve("pipelines/index_geowizard.json")).path("cases").forEach(out::add);
    return out;
  }

  static Stream<String> cases() {
    return index().stream().filter(c -> !c.has("expected_error")).map(c -> c.path("case").asText());
  }

  static Stream<String> errorCases() {
    return index().stream().filter(c -> c.has("expected_error")).map(c -> c.path("case").asText());
  }

  static Stream<String> seededCases() {
    return cases().filter(c -> !Golden.load("pipelines", c).json().path("random_draws").isEmpty());
  }

  static PilImage input(JsonNode json) {
    return ImageInput.read(Golden.fixtures().resolve(json.path("input_image").asText()));
  }

  @ParameterizedTest
  @MethodSource("cases")
  void reproducesTheOriginalPipeline(String caseName) {
    Golden g = Golden.load("pipelines", caseName);
    JsonNode json = g.json();
    GeoWizardOptions options = options(json);
    RecordedNoise noise = PipelineCases.recordedDraws(g);
    GeoWizardPrediction p = pipe.predict(input(json), options, noise);
    assertThat(noise.remaining()).as("recorded draws left unused").isZero();
    JsonNode tol = json.path("tolerances");
    try (PointerScope scope = new PointerScope()) {
      Tensor depth = p.depth().toTensor();
      Tensor normals = Tensors.fromFloats(p.normalsHwc(), p.height(), p.width(), 3);
      report(caseName, "depth_np", depth, g.tensor("final.depth_np"), g.atol("final.depth_np"));
      report(caseName, "normal_np", normals, g.tensor("final.normal_np"), g.atol("final.normal_np"));
      assertClose(depth, g.tensor("final.depth_np"), g.atol("final.depth_np"), caseName + " depth_np");
      assertClose(normals, g.tensor("final.normal_np"), g.atol("final.normal_np"), caseName + " normal_np");
      PipelineCases.assertBytesClose(p.depth().coloredRgb(), g.tensor("final.depth_colored"),
          tol.path("final.depth_colored"), 3, caseName + " depth_colored");
      PipelineCases.assertBytesClose(p.normals().coloredRgb(), g.tensor("final.normal_colored"),
          tol.path("final.normal_colored"), 1, caseName + " normal_colored");
      if (g.has("final.uncertainty")) {
        int[] us = p.depth().uncertaintyShape();
        Tensor unc = Tensors.fromFloats(p.depth().uncertainty(), us[0], us[1]);
        report(caseName, "uncertainty", unc, g.tensor("final.uncertainty"), g.atol("final.uncertainty"));
        assertClose(unc, g.tensor("final.uncertainty"), g.atol("final.uncertainty"), caseName + " uncertainty");
      } else {
        assertThat(p.depth().uncertainty()).as("no uncertainty without ensembling").isNull();
      }
    }
  }

  private static void report(String caseName, String output, Tensor actual, Tensor expected, double atol) {
    if (java.util.Arrays.equals(Tensors.shape(actual), Tensors.shape(expected))) {
      System.out.printf("[geowizard] %s %s max|java-python| = %.3g (atol %.3g)%n", caseName, output,
          Tensors.maxAbsDiff(actual, expected), atol);
    }
  }

  /** The two settings on which the original raises are refused up front, naming the original's error. */
  @ParameterizedTest
  @MethodSource("errorCases")
  void refusesTheSettingsOnWhichTheOriginalFails(String caseName) {
    Golden g = Golden.load("pipelines", caseName);
    JsonNode json = g.json();
    RecordedNoise noise = PipelineCases.recordedDraws(g);
    assertThatThrownBy(() -> pipe.predict(input(json), options(json), noise))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(json.path("expected_error").path("type").asText());
  }

  @Test
  void refusesBatchesOfMoreThanOneMember() {
    GeoWizardOptions o = GeoWizardOptions.defaults(Domain.INDOOR).withEnsembleSize(2).withBatchSize(2);
    PilImage img = ImageInput.read(Golden.fixtures().resolve("images/photo_coco_cats_128x96.png"));
    assertThatThrownBy(() -> pipe.predict(img, o, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("batch size");
  }

  /**
   * Seeding as run_infer.py's seed_all does (random, numpy and torch with the same value) makes the engine draw
   * exactly the noise the original drew, including the int64 its DataLoader iterator takes first (these goldens were
   * recorded with show_progress_bar false: one iterator).
   */
  @ParameterizedTest
  @MethodSource("seededCases")
  void theSameSeedDrawsTheSameNoiseAsTheOriginal(String caseName) {
    Golden g = Golden.load("pipelines", caseName);
    JsonNode json = g.json();
    List<float[]> drawn = new ArrayList<>();   // copied out: the tensors die with the call's scope
    List<Double> uniforms = new ArrayList<>();
    torch.manual_seed(json.path("seed_all").asLong());
    NoiseSource seeded = NoiseSource.torch(new NumpyRandom(json.path("seed_all").asLong()));
    NoiseSource recording = new NoiseSource() {
      @Override
      public Tensor randnLike(Tensor x) {
        Tensor t = seeded.randnLike(x);
        drawn.add(Tensors.toFloats(t));
        return t;
      }

      @Override
      public Tensor randn(long... shape) {
        Tensor t = seeded.randn(shape);
        drawn.add(Tensors.toFloats(t));
        return t;
      }

      @Override
      public void dataLoaderIterator() {
        seeded.dataLoaderIterator();                     // the base-seed draw is part of what must match
      }

      @Override
      public double random() {
        double u = seeded.random();
        uniforms.add(u);
        return u;
      }
    };
    pipe.predict(input(json), options(json), recording);
    int i = 0;
    int u = 0;
    for (JsonNode d : json.path("random_draws")) {
      if (d.path("fn").asText().startsWith("torch.")) {
        assertThat(drawn.get(i++)).as(caseName + " draw " + d.path("key"))
            .containsExactly(Tensors.toFloats(g.tensor(d.path("key").asText())));
      } else {
        assertThat(uniforms.get(u++)).as(caseName + " uniform " + d.path("order"))
            .isEqualTo(d.path("value").asDouble());
      }
    }
    assertThat(i).isEqualTo(drawn.size()).isPositive();
    assertThat(u).isEqualTo(uniforms.size());
  }

  @Test
  void recognisesGeoWizardCheckpointsFromTheirContents(@TempDir Path tmp) throws IOException {
    assertThat(GeoWizardPipeline.isGeoWizard(Golden.fixtures().resolve("checkpoints/tiny-geowizard"))).isTrue();
    assertThat(GeoWizardPipeline.isGeoWizard(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth"))).isFalse();
    assertThat(GeoWizardPipeline.isGeoWizard(Golden.fixtures().resolve("checkpoints/tiny-marigold-normals")))
        .isFalse();
    assertThat(GeoWizardPipeline.isGeoWizard(Golden.fixtures().resolve("checkpoints/tiny-sd2-4ch"))).isFalse();
    assertThat(GeoWizardPipeline.isGeoWizard(tmp.resolve("missing"))).isFalse();
    // a folder named for nothing, with no model_index.json: the UNet's projection class embedding decides
    Path renamed = tmp.resolve("my-model");
    Files.createDirectories(renamed.resolve("unet"));
    Files.copy(Golden.fixtures().resolve("checkpoints/tiny-geowizard/unet/config.json"),
        renamed.resolve("unet/config.json"));
    assertThat(GeoWizardPipeline.isGeoWizard(renamed)).isTrue();
  }

  /**
   * run_infer.py's files for each input of its recorded runs, seeded once before the first image as it seeds (its
   * progress bar on, so two DataLoader iterators per image; the gaussian run fails without them): the
   * four folders and its file names, the (H, W) depth and (H, W, 3) normal arrays within the largest tolerance the
   * pipeline goldens give for them, and the decoded PNG pixels. {@code geowizard_indoor_defaults} (four images at
   * 768) is left to the command-line tests for time.
   */
  @ParameterizedTest
  @ValueSource(strings = {"geowizard_object_res0", "geowizard_outdoor_res64_ens2_gaussian"})
  void writesTheFilesRunInferWrites(String cliCase, @TempDir Path out) {
    Path cli = Golden.fixtures().resolve("cli").resolve(cliCase);
    JsonNode json = Golden.readJson(cli.resolve("case.json"));
    List<String> args = List.of(json.path("command").asText().split(" "));
    GeoWizardOptions o = GeoWizardOptions.defaults(Domain.parse(arg(args, "--domain", null)))
        .withProcessingRes(Integer.parseInt(arg(args, "--processing_res", "768")))
        .withEnsembleSize(Integer.parseInt(arg(args, "--ensemble_size", "1")))
        .withDenoisingSteps(Integer.parseInt(arg(args, "--denoise_steps", "1")))
        .withNoise(NoiseType.parse(arg(args, "--noise", "zeros")));
    NoiseSource noise = GeoWizardPipeline.seedLikeRunInfer(Long.parseLong(arg(args, "--seed", null)));
    double depthAtol = 0;
    double normalAtol = 0;
    for (String c : cases().toList()) {
      JsonNode tol = Golden.readJson(Golden.fixtures().resolve("pipelines/" + c + ".json")).path("tolerances");
      depthAtol = Math.max(depthAtol, tol.path("final.depth_np").path("suggested_atol").asDouble());
      normalAtol = Math.max(normalAtol, tol.path("final.normal_np").path("suggested_atol").asDouble());
    }
    List<Path> inputs = new ArrayList<>();
    json.path("input_files").forEach(f -> inputs.add(Golden.fixtures().resolve(f.asText())));
    inputs.sort(java.util.Comparator.comparing(f -> f.getFileName().toString()));   // run_infer.py's sorted(listdir)
    for (Path file : inputs) {
      String name = file.getFileName().toString().replaceFirst("\\.[^.]*$", "");
      pipe.predict(ImageInput.read(file), o, noise).save(out, name);
    }
    for (JsonNode f : json.path("output_files")) {
      String rel = f.path("path").asText().replaceFirst("^output/", "");
      assertThat(out.resolve(rel)).as(rel).exists();
      try (PointerScope scope = new PointerScope()) {
        Path expectedFile = cli.resolve(f.path("path").asText());
        if (rel.endsWith(".npy")) {
          Tensor actual = Npy.readTensor(out.resolve(rel));
          Tensor expected = Npy.readTensor(expectedFile);
          double atol = rel.startsWith("depth") ? depthAtol : normalAtol;
          report(cliCase, rel, actual, expected, atol);
          assertClose(actual, expected, atol, cliCase + " " + rel);
        } else {
          PipelineCases.assertBytesClose(Tensors.toBytes(ImageInput.readRgb(out.resolve(rel))),
              ImageInput.readRgb(expectedFile), NullNode.getInstance(), rel.startsWith("depth") ? 3 : 1,
              cliCase + " " + rel);
        }
      }
    }
    try (Stream<Path> written = Files.walk(out)) {
      assertThat(written.filter(Files::isRegularFile).count()).as("files written")
          .isEqualTo(json.path("output_files").size());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The value after {@code flag} in a command line, or {@code dflt} when the flag is absent. */
  private static String arg(List<String> args, String flag, String dflt) {
    int i = args.indexOf(flag);
    if (i < 0 && dflt == null) throw new IllegalArgumentException(flag + " missing from " + args);
    return i < 0 ? dflt : args.get(i + 1);
  }

  /** An in-memory image gives what the same file gives (RGBA: alpha kept for the premultiplied resize). */
  @Test
  void predictsFromABufferedImageAsFromTheFile() throws IOException {
    Path file = Golden.fixtures().resolve("images/synthetic_rgba_80x60.png");
    GeoWizardOptions o = GeoWizardOptions.defaults(Domain.INDOOR).withProcessingRes(40);
    GeoWizardPrediction fromFile = pipe.predict(ImageInput.read(file), o, null);
    GeoWizardPrediction fromImage = pipe.predict(javax.imageio.ImageIO.read(file.toFile()), o, null);
    assertThat(fromImage.depth().values()).containsExactly(fromFile.depth().values());
    assertThat(fromImage.normalsHwc()).containsExactly(fromFile.normalsHwc());
    assertThat(fromImage.width()).isEqualTo(80);
    assertThat(fromImage.height()).isEqualTo(60);
  }

  @Test
  void keepsNativeMemoryFlatInsideACallersPointerScope() {
    PilImage img = ImageInput.read(Golden.fixtures().resolve("images/photo_coco_cats_crop_101x75.png"));
    GeoWizardOptions o = GeoWizardOptions.defaults(Domain.INDOOR).withProcessingRes(32).withDenoisingSteps(2)
        .withEnsembleSize(2).withNoise(NoiseType.GAUSSIAN);
    NoiseSource noise = NoiseSource.torch(new NumpyRandom(0));
    NativePointers.assertFlatOverScopedRounds(4, "scoped call", () -> {
      GeoWizardPrediction p = pipe.predict(img, o, noise);
      assertThat(p.width()).isEqualTo(101);
      assertThat(p.height()).isEqualTo(75);
    });
  }
}
