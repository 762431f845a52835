package marigold4j.pipeline;

import static marigold4j.testing.Golden.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import marigold4j.image.ImageInput;
import marigold4j.random.NoiseSource;
import marigold4j.random.PythonRandom;
import marigold4j.random.RecordedNoise;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every MarigoldPipeline call recorded from the original (testdata/pipelines/index_marigold.json). */
class MarigoldPipelineTest {
  static MarigoldPipeline depth;
  static MarigoldPipeline normals;

  @BeforeAll
  static void load() {
    Golden.fixtures();
    depth = MarigoldPipeline.load(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth"));
    normals = MarigoldPipeline.load(Golden.fixtures().resolve("checkpoints/tiny-marigold-normals"));
  }

  @AfterAll
  static void close() {
    depth.close();
    normals.close();
  }

  static Stream<String> cases() {
    List<String> out = new ArrayList<>();
    Golden.readJson(Golden.fixtures().resolve("pipelines/index_marigold.json")).path("cases")
        .forEach(c -> out.add(c.path("case").asText()));
    return out.stream();
  }

  @ParameterizedTest
  @MethodSource("cases")
  void reproducesTheOriginalPipeline(String caseName) {
    Golden g = Golden.load("pipelines", caseName);
    JsonNode json = g.json();
    MarigoldOptions options = PipelineCases.options(json);
    RecordedNoise noise = PipelineCases.recordedDraws(g);
    MarigoldPipeline pipe = options.modality() == Modality.NORMALS ? normals : depth;
    Prediction p;
    try (PointerScope scope = new PointerScope()) {
      Tensor rgb = ImageInput.readRgb(Golden.fixtures().resolve(json.path("input_image").asText()));
      p = pipe.predict(rgb, options, noise);
    }
    assertThat(noise.remaining()).as("recorded draws left unused").isZero();
    JsonNode tol = json.path("tolerances");
    String prefix = options.modality() == Modality.NORMALS ? "final.normal" : "final.depth";
    Tensor values = p.toTensor();
    assertClose(values, g.tensor(prefix + "_np"), g.atol(prefix + "_np"), caseName + " " + prefix + "_np");
    PipelineCases.assertBytesClose(p.coloredRgb(), g.tensor(prefix + "_colored"), tol.path(prefix + "_colored"),
        options.modality() == Modality.NORMALS ? 1 : 3, caseName + " " + prefix + "_colored");
    if (g.has("final.uncertainty")) {
      int[] us = p.uncertaintyShape();
      assertClose(Tensors.fromFloats(p.uncertainty(), us[0], us[1]), g.tensor("final.uncertainty"),
          g.atol("final.uncertainty"), caseName + " uncertainty");
    }
  }

  /**
   * Seeding as run.py does (random, numpy and torch seeded with the same value) makes the engine draw exactly the
   * noise the original drew: compared here with every recorded draw of the seeded gaussian and pyramid cases.
   */
  @ParameterizedTest
  @MethodSource("seededCases")
  void theSameSeedDrawsTheSameNoiseAsTheOriginal(String caseName) {
    Golden g = Golden.load("pipelines", caseName);
    MarigoldOptions options = PipelineCases.options(g.json());
    List<float[]> drawn = new ArrayList<>();   // copied out: the tensors die with the call's scope
    torch.manual_seed(g.json().path("seed_all").asLong());
    NoiseSource seeded = NoiseSource.torch(new PythonRandom(g.json().path("seed_all").asLong()));
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
        return seeded.random();
      }
    };
    MarigoldPipeline pipe = options.modality() == Modality.NORMALS ? normals : depth;
    pipe.predict(ImageInput.readRgb(Golden.fixtures().resolve(g.json().path("input_image").asText())), options,
        recording);
    int i = 0;
    for (JsonNode d : g.json().path("random_draws")) {
      if (!d.path("fn").asText().startsWith("torch.")) continue;
      assertThat(drawn.get(i++)).as(caseName + " draw " + d.path("key"))
          .containsExactly(Tensors.toFloats(g.tensor(d.path("key").asText())));
    }
    assertThat(i).isEqualTo(drawn.size()).isPositive();
  }

  static Stream<String> seededCases() {
    return cases().filter(c -> !Golden.load("pipelines", c).json().path("random_draws").isEmpty());
  }

  @Test
  void predictsFromABufferedImageAsFromTheFile() throws Exception {
    java.nio.file.Path file = Golden.fixtures().resolve("images/photo_coco_cats_crop_101x75.png");
    MarigoldOptions o = MarigoldOptions.e2eDefaults(Modality.DEPTH).withProcessingRes(0);
    Prediction fromFile = depth.predict(ImageInput.readRgb(file), o, null);
    Prediction fromImage = depth.predict(javax.imageio.ImageIO.read(file.toFile()), o, null);
    assertThat(fromImage.values()).containsExactly(fromFile.values());
    assertThat(fromImage.width()).isEqualTo(101);
    assertThat(fromImage.height()).isEqualTo(75);
  }
}
