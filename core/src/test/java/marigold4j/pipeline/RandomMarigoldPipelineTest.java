package marigold4j.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import marigold4j.models.unet.UNet2DConditionModel;
import marigold4j.models.vae.AutoencoderKL;
import marigold4j.nn.GroupNorm;
import marigold4j.nn.Linear;
import marigold4j.nn.Module;
import marigold4j.nn.Parameter;
import marigold4j.testing.Golden;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** Pipelines built from the bundled configs with random weights (what {@code marigold4j bench} runs). */
class RandomMarigoldPipelineTest {

  @Test
  void fullSizeConfigsDeclareExactlyTheReleasedStateDicts() {
    // Declaring the slots allocates nothing, so the full-size models can be compared with the manifests cheaply.
    UNet2DConditionModel unet = UNet2DConditionModel.fromConfig(MarigoldArchitecture.FULL_SIZE.unetConfig());
    AutoencoderKL vae = new AutoencoderKL(MarigoldArchitecture.FULL_SIZE.vaeConfig());
    assertMatchesManifest(unet, "marigold-depth-v1-0_unet");
    assertMatchesManifest(vae, "marigold-depth-v1-0_vae");
    assertThat(unet.numParameters()).isEqualTo(865_922_244L);
    assertThat(vae.numParameters()).isEqualTo(83_653_863L);
  }

  @Test
  void tinyConfigsAreTheFixtureCheckpointsArchitecture() {
    assertThat(MarigoldArchitecture.TINY.unetConfig()).hasToString(marigold4j.models.unet.UNet2DConditionConfig.read(
        Golden.fixtures().resolve("checkpoints/tiny-marigold-depth/unet/config.json")).toString());
    assertThat(MarigoldArchitecture.TINY.vaeConfig()).isEqualTo(marigold4j.models.vae.AutoencoderKLConfig.read(
        Golden.fixtures().resolve("checkpoints/tiny-marigold-depth/vae/config.json")));
  }

  @Test
  void initRandomDrawsWeightsAndSetsNormsAndBiasesWithoutTouchingTheGlobalGenerator() {
    Engine.init();
    final class Block extends Module {
      Block() {
        child("norm", new GroupNorm(4, 64, 1e-5));
        child("proj", new Linear(64, 256, true));
      }
    }
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(7);
      Tensor expectedNext = torch.randn(3);
      torch.manual_seed(7);
      Block a = new Block();
      a.initRandom(42, new Device(torch.DeviceType.CPU), torch.ScalarType.Float);
      assertThat(Tensors.maxAbsDiff(torch.randn(3), expectedNext)).as("global generator untouched").isZero();

      Map<String, Parameter> p = a.namedParameters();
      assertThat(Tensors.toFloats(p.get("norm.weight").get())).containsOnly(1f);
      assertThat(Tensors.toFloats(p.get("norm.bias").get())).containsOnly(0f);
      assertThat(Tensors.toFloats(p.get("proj.bias").get())).containsOnly(0f);
      Tensor w = p.get("proj.weight").get();
      assertThat(w.mean().item_double()).isCloseTo(0.0, org.assertj.core.data.Offset.offset(0.002));
      assertThat(w.std().item_double()).isCloseTo(Module.INIT_STD, org.assertj.core.data.Offset.offset(0.001));

      Block b = new Block();
      b.initRandom(42, new Device(torch.DeviceType.CPU), torch.ScalarType.BFloat16);
      assertThat(Tensors.dtype(b.namedParameters().get("proj.weight").get())).isEqualTo(torch.ScalarType.BFloat16);
      // the same seed draws the same fp32 values, then rounds them: bf16 has 8 significant bits
      assertThat(Tensors.maxAbsDiff(b.namedParameters().get("proj.weight").get().to(torch.ScalarType.Float), w))
          .isLessThanOrEqualTo(0.1 * 2.0 / 256);
      a.close();
      b.close();
    }
  }

  @Test
  void tinyRandomPipelinePredictsFiniteDepthAndTimesEveryStage() {
    Map<StageTimer.Stage, Integer> calls = new EnumMap<>(StageTimer.Stage.class);
    List<Long> nanos = new ArrayList<>();
    float[] first;
    float[] again;
    try (MarigoldPipeline pipe = MarigoldPipeline.random(MarigoldArchitecture.TINY, Precision.FP32, "cpu", 3);
        PointerScope scope = new PointerScope()) {
      assertThat(pipe.checkpoint()).isNull();
      pipe.setStageTimer((stage, ns) -> {
        calls.merge(stage, 1, Integer::sum);
        nanos.add(ns);
      });
      Tensor rgb = torch.randint(256, new long[] {3, 48, 64}).to(torch.ScalarType.Byte);
      MarigoldOptions o = pipe.defaults(Modality.DEPTH).withProcessingRes(64);
      Prediction p = pipe.predict(rgb, o, null);
      first = p.values();
      assertThat(p.height()).isEqualTo(48);
      assertThat(p.width()).isEqualTo(64);
      pipe.setStageTimer(null);
      again = pipe.predict(rgb, o, null).values();
    }
    assertThat(calls).containsOnly(Map.entry(StageTimer.Stage.VAE_ENCODE, 1), Map.entry(StageTimer.Stage.UNET, 1),
        Map.entry(StageTimer.Stage.VAE_DECODE, 1));
    assertThat(nanos).allMatch(n -> n > 0);
    float min = Float.MAX_VALUE;
    float max = -Float.MAX_VALUE;
    for (float v : first) {
      assertThat(v).isFinite();
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assertThat(max - min).as("min-max normalised, so not constant").isGreaterThan(0.5f);
    assertThat(again).containsExactly(first);
  }

  @Test
  void sameSeedBuildsTheSameModel() {
    float[] a;
    float[] b;
    try (PointerScope scope = new PointerScope()) {
      Tensor rgb = torch.full(new long[] {3, 40, 56}, new org.bytedeco.pytorch.Scalar(90)).to(torch.ScalarType.Byte);
      try (MarigoldPipeline p1 = MarigoldPipeline.random(MarigoldArchitecture.TINY, Precision.FP32, "cpu", 11)) {
        a = p1.predict(rgb, p1.defaults(Modality.DEPTH).withProcessingRes(0), null).values();
      }
      try (MarigoldPipeline p2 = MarigoldPipeline.random(MarigoldArchitecture.TINY, Precision.FP32, "cpu", 11)) {
        b = p2.predict(rgb, p2.defaults(Modality.DEPTH).withProcessingRes(0), null).values();
      }
    }
    assertThat(b).containsExactly(a);
  }

  private static void assertMatchesManifest(Module model, String manifest) {
    JsonNode json = Golden.readJson(Golden.fixtures().resolve("manifests/" + manifest + ".json"));
    Map<String, List<Long>> expected = new LinkedHashMap<>();
    json.path("state_dict").forEach(e -> {
      List<Long> shape = new ArrayList<>();
      e.path("shape").forEach(d -> shape.add(d.asLong()));
      expected.put(e.path("name").asText(), shape);
    });
    Map<String, List<Long>> actual = new LinkedHashMap<>();
    model.stateDictSlots().forEach((k, p) -> {
      List<Long> shape = new ArrayList<>();
      for (long d : p.shape()) shape.add(d);
      actual.put(k, shape);
    });
    assertThat(actual).as(manifest).containsExactlyInAnyOrderEntriesOf(expected);
  }
}
