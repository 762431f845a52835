package marigold4j.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import marigold4j.checkpoint.ModelIndex.Component;
import marigold4j.checkpoint.ModelIndex.PipelineClass;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelIndexTest {
  @TempDir
  Path tmp;

  static Path checkpoint(String name) {
    return Golden.fixtures().resolve("checkpoints").resolve(name);
  }

  Path write(String json) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("pipe"));
    Files.writeString(dir.resolve("model_index.json"), json);
    return dir;
  }

  @Test
  void readsEveryTinyCheckpointsIndex() throws IOException {
    List<Path> dirs;
    try (Stream<Path> s = Files.list(Golden.fixtures().resolve("checkpoints"))) {
      // Lotus' indexes list a PNDM scheduler and a feature extractor: readsLotusIndexesWithTheirUnusedComponents
      // the diffusers 0.33.1 Marigold checkpoints declare their defaults: readsDiffusersMarigoldIndexes
      dirs = s.filter(d -> Files.exists(d.resolve("model_index.json")))
          .filter(d -> !d.getFileName().toString().startsWith("tiny-lotus-"))
          .filter(d -> !d.getFileName().toString().matches("tiny-marigold-(v11|iid|lcm)-.*")).sorted().toList();
    }
    assertThat(dirs).hasSize(4);
    for (Path d : dirs) {
      ModelIndex index = ModelIndex.read(d);
      assertThat(index.pipelineClass()).as(d.toString()).isNotEqualTo(PipelineClass.UNKNOWN);
      assertThat(index.diffusersVersion()).contains("0.30.2");
      assertThat(index.requireComponent("scheduler")).isEqualTo(new Component("diffusers", "DDIMScheduler"));
      assertThat(index.requireComponent("vae")).isEqualTo(new Component("diffusers", "AutoencoderKL"));
      // every listed non-null component has its sub-folder
      index.components().forEach((name, c) -> {
        if (!c.isNull()) assertThat(d.resolve(name)).as(d + " " + name).isDirectory();
      });
      assertThat(index.defaultDenoisingSteps()).isEmpty();
      assertThat(index.defaultProcessingResolution()).isEmpty();
    }
  }

  @Test
  void readsDiffusersMarigoldIndexes() {
    Map<String, String> classes = Map.of("tiny-marigold-v11-depth", "MarigoldDepthPipeline",
        "tiny-marigold-v11-normals", "MarigoldNormalsPipeline", "tiny-marigold-lcm-depth", "MarigoldDepthPipeline",
        "tiny-marigold-iid-appearance", "MarigoldIntrinsicsPipeline",
        "tiny-marigold-iid-lighting", "MarigoldIntrinsicsPipeline");
    classes.forEach((name, cls) -> {
      ModelIndex index = ModelIndex.read(checkpoint(name));
      assertThat(index.className()).isEqualTo(cls);
      assertThat(index.pipelineClass()).isNotEqualTo(PipelineClass.UNKNOWN);
      assertThat(index.diffusersVersion()).contains("0.33.1");
      assertThat(index.defaultDenoisingSteps()).hasValue(name.contains("lcm") ? 1 : 4);
      assertThat(index.defaultProcessingResolution()).hasValue(768);
      assertThat(index.requireComponent("scheduler").className())
          .isEqualTo(name.contains("lcm") ? "LCMScheduler" : "DDIMScheduler");
    });
  }

  @Test
  void readsLotusIndexesWithTheirUnusedComponents() {
    for (String name : List.of("tiny-lotus-depth-g", "tiny-lotus-depth-d", "tiny-lotus-normal-g",
        "tiny-lotus-normal-d")) {
      ModelIndex index = ModelIndex.read(checkpoint(name));
      assertThat(index.className()).isEqualTo(name.endsWith("-g") ? "LotusGPipeline" : "LotusDPipeline");
      assertThat(index.requireComponent("scheduler")).isEqualTo(new Component("diffusers", "PNDMScheduler"));
      assertThat(index.requireComponent("feature_extractor"))
          .isEqualTo(new Component("transformers", "CLIPImageProcessor"));
      assertThat(index.component("image_encoder")).isEmpty();
      assertThat(index.component("safety_checker")).isEmpty();
    }
  }

  @Test
  void readsMarigoldComponentsInFileOrder() {
    ModelIndex index = ModelIndex.read(checkpoint("tiny-marigold-depth"));
    assertThat(index.className()).isEqualTo("MarigoldPipeline");
    assertThat(index.pipelineClass()).isEqualTo(PipelineClass.MARIGOLD);
    assertThat(index.components()).containsExactly(
        java.util.Map.entry("scheduler", new Component("diffusers", "DDIMScheduler")),
        java.util.Map.entry("text_encoder", new Component("transformers", "CLIPTextModel")),
        java.util.Map.entry("tokenizer", new Component("transformers", "CLIPTokenizer")),
        java.util.Map.entry("unet", new Component("diffusers", "UNet2DConditionModel")),
        java.util.Map.entry("vae", new Component("diffusers", "AutoencoderKL")));
    assertThat(index.extras()).isEmpty();
  }

  @Test
  void readsGeoWizardsCustomUnetLibrary() {
    ModelIndex index = ModelIndex.read(checkpoint("tiny-geowizard"));
    assertThat(index.pipelineClass()).isEqualTo(PipelineClass.GEOWIZARD);
    assertThat(index.requireComponent("unet"))
        .isEqualTo(new Component("geowizard.models.unet_2d_condition", "UNet2DConditionModel"));
    assertThat(index.requireComponent("image_encoder").className()).isEqualTo("CLIPVisionModelWithProjection");
    assertThat(index.component("text_encoder")).isEmpty();
  }

  @Test
  void keepsNullComponentsAndSettingsOfStableDiffusion() {
    ModelIndex index = ModelIndex.read(checkpoint("tiny-sd2-4ch"));
    assertThat(index.pipelineClass()).isEqualTo(PipelineClass.STABLE_DIFFUSION);
    assertThat(index.components()).containsKeys("feature_extractor", "image_encoder", "safety_checker");
    assertThat(index.components().get("safety_checker")).isEqualTo(new Component(null, null));
    assertThat(index.components().get("safety_checker").isNull()).isTrue();
    assertThat(index.component("safety_checker")).isEmpty();
    assertThat(index.extras()).containsEntry("requires_safety_checker", false);
    assertThatThrownBy(() -> index.requireComponent("safety_checker"))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("safety_checker")
        .hasMessageContaining("model_index.json");
  }

  @Test
  void exposesNewerMarigoldDefaults() throws IOException {
    Path dir = write("""
        {
          "_class_name": "MarigoldDepthPipeline",
          "_diffusers_version": "0.31.0",
          "default_denoising_steps": 4,
          "default_processing_resolution": 768,
          "prediction_type": "depth",
          "scale_invariant": true,
          "shift_invariant": true,
          "scheduler": ["diffusers", "DDIMScheduler"],
          "text_encoder": ["transformers", "CLIPTextModel"],
          "tokenizer": ["transformers", "CLIPTokenizer"],
          "unet": ["diffusers", "UNet2DConditionModel"],
          "vae": ["diffusers", "AutoencoderKL"]
        }
        """);
    ModelIndex index = ModelIndex.read(dir);
    assertThat(index.pipelineClass()).isEqualTo(PipelineClass.MARIGOLD_DEPTH);
    assertThat(index.defaultDenoisingSteps()).hasValue(4);
    assertThat(index.defaultProcessingResolution()).hasValue(768);
    assertThat(index.extra("prediction_type")).contains("depth");
    assertThat(index.extra("scale_invariant")).contains(true);
    assertThat(index.components()).hasSize(5);
  }

  @Test
  void acceptsAnUnknownClassUntilAComponentIsMissing() throws IOException {
    Path dir = write("""
        {"_class_name": "FancyDepthPipeline", "unet": ["diffusers", "UNet2DConditionModel"], "scheduler": [null, null]}
        """);
    ModelIndex index = ModelIndex.read(dir);
    assertThat(index.pipelineClass()).isEqualTo(PipelineClass.UNKNOWN);
    assertThat(index.requireComponent("unet").library()).isEqualTo("diffusers");
    assertThatThrownBy(() -> index.requireComponent("vae"))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("unknown pipeline class 'FancyDepthPipeline'")
        .hasMessageContaining("'vae'")
        .hasMessageContaining(dir.resolve("model_index.json").toString());
    assertThatThrownBy(() -> index.requireComponent("scheduler"))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("component is null: 'scheduler'");
  }

  @Test
  void reportsAMissingFileNamingIt() {
    assertThatThrownBy(() -> ModelIndex.read(tmp))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining(tmp.resolve("model_index.json").toString())
        .hasMessageContaining("not found");
  }

  @Test
  void reportsMalformedJsonNamingTheFile() throws IOException {
    Path dir = write("{\"_class_name\": \"MarigoldPipeline\", \"unet\": [\"diffusers\", ");
    assertThatThrownBy(() -> ModelIndex.read(dir))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining(dir.resolve("model_index.json").toString())
        .hasMessageContaining("invalid JSON");
  }

  @Test
  void requiresAClassName() throws IOException {
    Path dir = write("{\"unet\": [\"diffusers\", \"UNet2DConditionModel\"]}");
    assertThatThrownBy(() -> ModelIndex.read(dir))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("_class_name");
    Path arr = write("[1, 2]");
    assertThatThrownBy(() -> ModelIndex.read(arr))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("JSON object");
  }

  @Test
  void rejectsANonIntegerDefaultNamingKeyAndFile() throws IOException {
    Path dir = write("{\"_class_name\": \"MarigoldDepthPipeline\", \"default_denoising_steps\": \"four\"}");
    assertThatThrownBy(() -> ModelIndex.read(dir))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("default_denoising_steps")
        .hasMessageContaining("model_index.json");
  }

  @Test
  void treatsANullDefaultAsAbsent() throws IOException {
    Path dir = write("{\"_class_name\": \"MarigoldDepthPipeline\", \"default_processing_resolution\": null}");
    assertThat(ModelIndex.read(dir).defaultProcessingResolution()).isEmpty();
  }
}
