package marigold4j.weights;

import static marigold4j.weights.WeightsTesting.assertIdentical;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.testing.Golden;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeightFilesTest {
  @TempDir Path dir;

  static Path checkpoint(String name) {
    return Golden.fixtures().resolve("checkpoints").resolve(name);
  }

  @BeforeAll
  static void boot() {
    Engine.init();
    Engine.setThreads(1);
  }

  private static Map<String, Tensor> sample() {
    torch.manual_seed(3);
    Map<String, Tensor> m = new LinkedHashMap<>();
    m.put("conv_in.weight", torch.randn(4, 8, 3, 3));
    m.put("conv_in.bias", torch.randn(4));
    m.put("time_embedding.linear_1.weight", torch.randn(16, 4));
    m.put("time_embedding.linear_1.bias", torch.randn(16));
    return m;
  }

  private static void writeIndex(Path file, Map<String, String> weightMap) throws IOException {
    StringBuilder sb = new StringBuilder("{\"metadata\": {\"total_size\": 0}, \"weight_map\": {");
    String sep = "";
    for (Map.Entry<String, String> e : weightMap.entrySet()) {
      sb.append(sep).append('"').append(e.getKey()).append("\": \"").append(e.getValue()).append('"');
      sep = ", ";
    }
    Files.writeString(file, sb.append("}}").toString());
  }

  @Test
  void findsDiffusersSafetensorsWeights() {
    Path unet = checkpoint("tiny-marigold-depth/unet");
    assertThat(WeightFiles.files(unet, null)).containsExactly(unet.resolve("diffusion_pytorch_model.safetensors"));
    assertThat(WeightFiles.files(checkpoint("tiny-marigold-depth/text_encoder"), null))
        .containsExactly(checkpoint("tiny-marigold-depth/text_encoder/model.safetensors"));
    assertIdentical(WeightFiles.load(unet, null), SafeTensors.load(unet.resolve("diffusion_pytorch_model.safetensors")));
  }

  @Test
  void fallsBackToPickleWeightsWhenNoSafetensorsExist() {
    Path ck = checkpoint("tiny-marigold-normals");
    assertThat(WeightFiles.files(ck.resolve("unet"), null))
        .containsExactly(ck.resolve("unet/diffusion_pytorch_model.bin"));
    assertThat(WeightFiles.files(ck.resolve("vae"), null)).containsExactly(ck.resolve("vae/diffusion_pytorch_model.bin"));
    assertThat(WeightFiles.files(ck.resolve("text_encoder"), null))
        .containsExactly(ck.resolve("text_encoder/pytorch_model.bin"));
  }

  @Test
  void binAndSafetensorsCopiesOfTheSameModelLoadIdentically() throws IOException {
    for (String component : new String[] {"unet", "vae", "text_encoder"}) {
      Map<String, Tensor> fromBin = WeightFiles.load(checkpoint("tiny-marigold-normals").resolve(component), null);
      Path copy = Files.createDirectories(dir.resolve(component));
      String name = component.equals("text_encoder") ? "model.safetensors" : "diffusion_pytorch_model.safetensors";
      SafeTensors.save(copy.resolve(name), fromBin, null);
      assertIdentical(WeightFiles.load(copy, null), fromBin);
    }
  }

  @Test
  void prefersSafetensorsOverBinInTheSameFolder() throws IOException {
    SafeTensors.save(dir.resolve("diffusion_pytorch_model.safetensors"), sample(), null);
    Files.copy(checkpoint("tiny-marigold-normals/vae/diffusion_pytorch_model.bin"),
        dir.resolve("diffusion_pytorch_model.bin"));
    assertThat(WeightFiles.files(dir, null)).containsExactly(dir.resolve("diffusion_pytorch_model.safetensors"));
  }

  @Test
  void loadsTheRequestedPrecisionVariant() {
    Map<String, Tensor> fp32 = sample();
    Map<String, Tensor> fp16 = new LinkedHashMap<>();
    fp32.forEach((k, v) -> fp16.put(k, v.to(torch.ScalarType.Half)));
    SafeTensors.save(dir.resolve("diffusion_pytorch_model.safetensors"), fp32, null);
    SafeTensors.save(dir.resolve("diffusion_pytorch_model.fp16.safetensors"), fp16, null);
    assertThat(WeightFiles.files(dir, "fp16")).containsExactly(dir.resolve("diffusion_pytorch_model.fp16.safetensors"));
    assertIdentical(WeightFiles.load(dir, "fp16"), fp16);
    assertIdentical(WeightFiles.load(dir, null), fp32);
  }

  @Test
  void fallsBackToTheNonVariantFileWhenTheVariantIsAbsent() {
    SafeTensors.save(dir.resolve("model.safetensors"), sample(), null);
    assertThat(WeightFiles.files(dir, "fp16")).containsExactly(dir.resolve("model.safetensors"));
    assertIdentical(WeightFiles.load(dir, "fp16"), sample());
  }

  @Test
  void loadsShardedSafetensorsThroughTheIndex() throws IOException {
    Map<String, Tensor> all = sample();
    Map<String, Tensor> a = new LinkedHashMap<>();
    Map<String, Tensor> b = new LinkedHashMap<>();
    Map<String, String> weightMap = new LinkedHashMap<>();
    int i = 0;
    for (Map.Entry<String, Tensor> e : all.entrySet()) {
      boolean first = i++ % 2 == 0;
      (first ? a : b).put(e.getKey(), e.getValue());
      weightMap.put(e.getKey(), first ? "diffusion_pytorch_model-00001-of-00002.safetensors"
          : "diffusion_pytorch_model-00002-of-00002.safetensors");
    }
    SafeTensors.save(dir.resolve("diffusion_pytorch_model-00002-of-00002.safetensors"), b, null);
    SafeTensors.save(dir.resolve("diffusion_pytorch_model-00001-of-00002.safetensors"), a, null);
    writeIndex(dir.resolve("diffusion_pytorch_model.safetensors.index.json"), weightMap);
    assertThat(WeightFiles.files(dir, null)).containsExactly(
        dir.resolve("diffusion_pytorch_model-00001-of-00002.safetensors"),
        dir.resolve("diffusion_pytorch_model-00002-of-00002.safetensors"));
    WeightsTesting.assertSameTensors(WeightFiles.load(dir, null), all);
  }

  @Test
  void loadsAShardedVariantThroughItsOwnIndex() throws IOException {
    Map<String, Tensor> all = sample();
    Map<String, Tensor> half = new LinkedHashMap<>();
    Map<String, String> weightMap = new LinkedHashMap<>();
    all.forEach((k, v) -> {
      half.put(k, v.to(torch.ScalarType.BFloat16));
      weightMap.put(k, "model.bf16-00001-of-00001.safetensors");
    });
    SafeTensors.save(dir.resolve("model.bf16-00001-of-00001.safetensors"), half, null);
    writeIndex(dir.resolve("model.safetensors.index.bf16.json"), weightMap);
    SafeTensors.save(dir.resolve("model.safetensors"), all, null);
    assertThat(WeightFiles.files(dir, "bf16")).containsExactly(dir.resolve("model.bf16-00001-of-00001.safetensors"));
    WeightsTesting.assertSameTensors(WeightFiles.load(dir, "bf16"), half);
  }

  @Test
  void loadsShardedBinThroughTheIndex() throws IOException {
    // the shard is a real torch.save file; the index lists its keys
    Path src = checkpoint("tiny-marigold-normals/vae/diffusion_pytorch_model.bin");
    Files.copy(src, dir.resolve("diffusion_pytorch_model-00001-of-00001.bin"));
    Map<String, Tensor> expected = TorchBin.load(src);
    Map<String, String> weightMap = new LinkedHashMap<>();
    expected.keySet().forEach(k -> weightMap.put(k, "diffusion_pytorch_model-00001-of-00001.bin"));
    writeIndex(dir.resolve("diffusion_pytorch_model.bin.index.json"), weightMap);
    assertIdentical(WeightFiles.load(dir, null), expected);
  }

  @Test
  void refusesAnIndexWhoseTensorsAreMissingFromTheShards() throws IOException {
    SafeTensors.save(dir.resolve("s1.safetensors"), sample(), null);
    Map<String, String> weightMap = new LinkedHashMap<>();
    sample().keySet().forEach(k -> weightMap.put(k, "s1.safetensors"));
    weightMap.put("extra.weight", "s1.safetensors");
    Path index = dir.resolve("model.safetensors.index.json");
    writeIndex(index, weightMap);
    assertThatThrownBy(() -> WeightFiles.load(dir, null)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining(index.toString()).hasMessageContaining("[extra.weight]");
  }

  @Test
  void refusesShardNamesOutsideTheFolder() throws IOException {
    Path index = dir.resolve("model.safetensors.index.json");
    writeIndex(index, Map.of("a", "../elsewhere.safetensors"));
    assertThatThrownBy(() -> WeightFiles.files(dir, null)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining(index.toString()).hasMessageContaining("invalid shard name");
    writeIndex(index, Map.of("a", "missing.safetensors"));
    assertThatThrownBy(() -> WeightFiles.files(dir, null)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining("shard missing.safetensors listed in the index is missing");
  }

  @Test
  void listsEverythingItLookedForWhenNoWeightFileExists() {
    assertThatThrownBy(() -> WeightFiles.load(dir, "fp16"))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining(dir.toString())
        .hasMessageContaining("no weight file found")
        .hasMessageContaining("diffusion_pytorch_model.fp16.safetensors")
        .hasMessageContaining("model.safetensors.index.fp16.json")
        .hasMessageContaining("diffusion_pytorch_model.safetensors, model.safetensors")
        .hasMessageContaining("pytorch_model.bin.index.json");
    assertThatThrownBy(() -> WeightFiles.files(dir.resolve("nope"), null))
        .isInstanceOf(CheckpointException.class).hasMessageContaining("not a directory");
  }

  @Test
  void splicesTheVariantBeforeTheLastExtension() {
    assertThat(WeightFiles.withVariant("diffusion_pytorch_model.safetensors", "fp16"))
        .isEqualTo("diffusion_pytorch_model.fp16.safetensors");
    assertThat(WeightFiles.withVariant("diffusion_pytorch_model.safetensors.index.json", "fp16"))
        .isEqualTo("diffusion_pytorch_model.safetensors.index.fp16.json");
    assertThat(WeightFiles.withVariant("pytorch_model.bin", null)).isEqualTo("pytorch_model.bin");
  }

  @Test
  void loadsEveryComponentOfEveryTinyCheckpoint() {
    for (String ck : new String[] {"tiny-marigold-depth", "tiny-marigold-normals", "tiny-sd2-4ch", "tiny-geowizard"}) {
      for (String comp : new String[] {"unet", "vae", "text_encoder", "image_encoder"}) {
        Path p = checkpoint(ck).resolve(comp);
        if (!Files.isDirectory(p)) continue;
        Map<String, Tensor> sd = WeightFiles.load(p, null);
        assertThat(sd).as(ck + "/" + comp).isNotEmpty();
        sd.forEach((k, t) -> assertThat(Tensors.dtype(t)).as(k).isIn(torch.ScalarType.Float, torch.ScalarType.Long));
      }
    }
  }
}
