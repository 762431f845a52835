package marigold4j.hub;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link FileFilter#pipeline}: the files from_pretrained reads, chosen from a repository's file list. */
class PipelineFilesTest {
  @TempDir Path tmp;

  FileFilter.Fetcher files(String... contents) throws IOException {
    for (int i = 0; i < contents.length; i += 2) {
      Path p = tmp.resolve(contents[i]);
      Files.createDirectories(p.getParent());
      Files.writeString(p, contents[i + 1]);
    }
    return tmp::resolve;
  }

  static final String INDEX = "{\"_class_name\": \"MarigoldPipeline\", \"unet\": [\"diffusers\", \"UNet2DConditionModel\"],"
      + " \"safety_checker\": [null, null]}";

  @Test
  void shardedWeightsBringTheIndexAndEveryShardItLists() throws IOException {
    FileFilter.Fetcher fetch = files("model_index.json", INDEX,
        "unet/diffusion_pytorch_model.safetensors.index.json", "{\"metadata\": {}, \"weight_map\": {"
            + "\"a\": \"diffusion_pytorch_model-00001-of-00002.safetensors\","
            + "\"b\": \"diffusion_pytorch_model-00002-of-00002.safetensors\","
            + "\"c\": \"diffusion_pytorch_model-00001-of-00002.safetensors\"}}");
    List<String> repo = List.of("model_index.json", "README.md", "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors.index.json",
        "unet/diffusion_pytorch_model-00001-of-00002.safetensors",
        "unet/diffusion_pytorch_model-00002-of-00002.safetensors",
        "unet/diffusion_pytorch_model.safetensors.index.fp16.json",
        "unet/diffusion_pytorch_model.fp16-00001-of-00002.safetensors",
        "unet/diffusion_pytorch_model.bin");

    FileFilter.Selection s = FileFilter.pipeline(null).select(repo, fetch);

    assertThat(s.complete()).isTrue();
    assertThat(s.files()).containsExactly("model_index.json", "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors.index.json",
        "unet/diffusion_pytorch_model-00001-of-00002.safetensors",
        "unet/diffusion_pytorch_model-00002-of-00002.safetensors");
  }

  @Test
  void safetensorsArePreferredOverBinAndBinIsTakenWhenAlone() throws IOException {
    FileFilter.Fetcher fetch = files("model_index.json", INDEX);

    assertThat(FileFilter.pipeline(null).select(List.of("model_index.json", "unet/config.json",
        "unet/diffusion_pytorch_model.bin", "unet/diffusion_pytorch_model.safetensors"), fetch).files())
        .containsExactly("model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors");
    assertThat(FileFilter.pipeline(null).select(List.of("model_index.json", "unet/config.json",
        "unet/diffusion_pytorch_model.bin", "unet/diffusion_pytorch_model.fp16.bin"), fetch).files())
        .containsExactly("model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.bin");
  }

  @Test
  void singleModelRepositoryWithoutModelIndexUsesItsRoot() {
    FileFilter.Selection s = FileFilter.pipeline(null).select(List.of("config.json", "model.safetensors",
        "tf_model.h5", "flax_model.msgpack", "vocab.json", "merges.txt", "onnx/model.onnx"), f -> null);

    assertThat(s.files()).containsExactlyInAnyOrder("config.json", "model.safetensors", "vocab.json", "merges.txt");
  }

  @Test
  void missingComponentFolderAndWeightsAreNamed() throws IOException {
    FileFilter.Fetcher fetch = files("model_index.json", "{\"_class_name\": \"MarigoldPipeline\","
        + " \"unet\": [\"diffusers\", \"UNet2DConditionModel\"], \"vae\": [\"diffusers\", \"AutoencoderKL\"]}");

    FileFilter.Selection s = FileFilter.pipeline("fp16").select(List.of("model_index.json", "unet/config.json"),
        fetch);

    assertThat(s.missing()).containsExactly(
        "unet/: weights (diffusion_pytorch_model.fp16.safetensors, model.fp16.safetensors, "
            + "diffusion_pytorch_model.safetensors.index.fp16.json, model.safetensors.index.fp16.json, "
            + "diffusion_pytorch_model.fp16.bin, pytorch_model.fp16.bin, diffusion_pytorch_model.bin.index.fp16.json, "
            + "pytorch_model.bin.index.fp16.json, diffusion_pytorch_model.safetensors, model.safetensors, "
            + "diffusion_pytorch_model.safetensors.index.json, model.safetensors.index.json, "
            + "diffusion_pytorch_model.bin, pytorch_model.bin, diffusion_pytorch_model.bin.index.json, "
            + "pytorch_model.bin.index.json)",
        "vae/ (component folder)");
  }
}
