package marigold4j.estimator.diffusers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Detection;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.estimator.Estimators;
import marigold4j.image.ImageInput;
import marigold4j.image.Npy;
import marigold4j.image.PilImage;
import marigold4j.image.Resize.Interpolation;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The diffusers Marigold checkpoints through the core API, as every client uses them: detection from
 * {@code model_index.json} alone (also under a meaningless folder name), and representative golden cases of
 * {@code testdata/diffusers_marigold/} reproduced by {@link Estimators#load} + {@link Estimator#predict} with the
 * case's settings and seed (a seed means diffusers' {@code torch.Generator("cpu").manual_seed(seed)} per call).
 */
class MarigoldDiffusersEstimatorTest {
  static Path ckpt(String name) {
    return Golden.fixtures().resolve("checkpoints").resolve(name);
  }

  @Test
  void detectsEveryDiffusersCheckpointFromItsContents() {
    Detection depth = Estimators.detect(ckpt("tiny-marigold-v11-depth"), "whatever");
    assertThat(depth.family().name()).isEqualTo("marigold-diffusers");
    assertThat(depth.maps()).containsExactly(Modality.DEPTH);
    assertThat(depth.evidence()).contains("MarigoldDepthPipeline");
    assertThat(Estimators.detect(ckpt("tiny-marigold-v11-normals"), "depth-looking-name").maps())
        .containsExactly(Modality.NORMALS);
    assertThat(Estimators.detect(ckpt("tiny-marigold-lcm-depth"), null).maps()).containsExactly(Modality.DEPTH);
    assertThat(Estimators.detect(ckpt("tiny-marigold-iid-appearance"), null).maps()).extracting(Modality::cliName)
        .containsExactly("albedo", "material", "roughness", "metallicity");
    assertThat(Estimators.detect(ckpt("tiny-marigold-iid-lighting"), null).maps()).extracting(Modality::cliName)
        .containsExactly("albedo", "shading", "residual");
    // the original Marigold release stays with run.py's family
    assertThat(Estimators.detect(ckpt("tiny-marigold-depth"), "tiny").family().name()).isEqualTo("marigold");
  }

  @Test
  void seededCallMatchesDiffusersWithAGenerator() {
    Golden g = Golden.load("diffusers_marigold", "depth_res64_bicubic_generator");
    try (PointerScope scope = new PointerScope();
        Estimator e = Estimators.load(ckpt("tiny-marigold-v11-depth"), "tiny", Precision.FP32, "cpu")) {
      EstimatorSettings s = EstimatorSettings.builder().processingRes(64).denoisingSteps(2)
          .resampleInput(Interpolation.BICUBIC).resampleOutput(Interpolation.BICUBIC).build();
      DensePrediction p = e.predict(ImageInput.read(Golden.fixtures().resolve("images/photo_coco_cats_128x96.png")),
          s, e.seeded(1234));
      Tensor depth = Tensors.fromFloats(p.map(Modality.DEPTH).values(), 1, 96, 128, 1);
      Golden.assertClose(depth, g.tensor("output.prediction"), g.atol("output.prediction"), "depth");
    }
  }

  /**
   * A list of images in one call, as diffusers batches it ({@code depth_list_np_uint8_bs2}: the photo and its mirror
   * image, batch size 2, the global generator seeded before the call): each image's map equals diffusers' row.
   */
  @Test
  void aBatchOfImagesMatchesDiffusersListCall() {
    Golden g = Golden.load("diffusers_marigold", "depth_list_np_uint8_bs2");
    PilImage photo = ImageInput.read(Golden.fixtures().resolve("images/photo_coco_cats_128x96.png"));
    byte[] mirrored = new byte[photo.pixels().length];
    int w = photo.width();
    int bands = photo.mode().bands();
    for (int y = 0; y < photo.height(); y++) {
      for (int x = 0; x < w; x++) {
        System.arraycopy(photo.pixels(), (y * w + x) * bands, mirrored, (y * w + (w - 1 - x)) * bands, bands);
      }
    }
    PilImage mirror = new PilImage(photo.mode(), w, photo.height(), mirrored);
    try (PointerScope scope = new PointerScope();
        Estimator e = Estimators.load(ckpt("tiny-marigold-v11-depth"), "tiny", Precision.FP32, "cpu")) {
      torch.manual_seed(g.json().path("torch_manual_seed_before_call").asLong());
      List<DensePrediction> batch = e.predictBatch(List.of(photo, mirror), EstimatorSettings.builder()
          .processingRes(64).denoisingSteps(2).batchSize(2).build(), null);
      assertThat(batch).hasSize(2);
      Tensor expected = g.tensor("output.prediction");                               // (2, 96, 128, 1)
      for (int i = 0; i < 2; i++) {
        Tensor depth = Tensors.fromFloats(batch.get(i).map(Modality.DEPTH).values(), 1, 96, 128, 1);
        Golden.assertClose(depth, expected.narrow(0, i, 1), g.atol("output.prediction"), "depth of image " + i);
      }
      assertThatThrownBy(() -> e.predictBatch(List.of(photo, new PilImage(photo.mode(), 8, 8,
          new byte[8 * 8 * bands])), EstimatorSettings.builder().build(), null))
          .hasMessageContaining("must share a size: 128x96 and 8x8");
    }
  }

  @Test
  void lcmDrawsItsStepNoiseFromTheSameGenerator() {
    Golden g = Golden.load("diffusers_marigold", "lcm_depth_4steps_generator");
    try (PointerScope scope = new PointerScope();
        Estimator e = Estimators.load(ckpt("tiny-marigold-lcm-depth"), "tiny", Precision.FP32, "cpu")) {
      assertThat(e.defaults().denoisingSteps()).as("LCM's default_denoising_steps").isEqualTo(1);
      DensePrediction p = e.predict(ImageInput.read(Golden.fixtures().resolve("images/photo_coco_cats_128x96.png")),
          EstimatorSettings.builder().processingRes(64).denoisingSteps(4).outputLatent(true).build(), e.seeded(4321));
      Golden.assertClose(Tensors.fromFloats(p.map(Modality.DEPTH).values(), 1, 96, 128, 1),
          g.tensor("output.prediction"), g.atol("output.prediction"), "depth");
      Golden.assertClose(Npy.toTensor(p.latent()), g.tensor("output.latent"), g.atol("output.latent"), "latent");
    }
  }

  @Test
  void intrinsicsTargetsAndUncertaintyMatchDiffusersAndAreSavedPerMap(@TempDir Path tmp) throws Exception {
    Golden g = Golden.load("diffusers_marigold", "iid_appearance_ens3_median_uncertainty");
    try (PointerScope scope = new PointerScope();
        Estimator e = Estimators.load(ckpt("tiny-marigold-iid-appearance"), "tiny", Precision.FP32, "cpu")) {
      torch.manual_seed(g.json().path("torch_manual_seed_before_call").asLong());
      DensePrediction p = e.predict(ImageInput.read(Golden.fixtures().resolve("images/photo_coco_cats_128x96.png")),
          EstimatorSettings.builder().processingRes(64).ensembleSize(3).outputUncertainty(true).matchInputRes(false)
              .build(), null);   // null: the global generator, as the case seeds it
      Tensor expected = g.tensor("output.prediction");             // (2, 48, 64, 3): albedo, material
      Tensor expectedUnc = g.tensor("output.uncertainty");
      Modality albedo = Modality.lookup("albedo").orElseThrow();
      Modality material = Modality.lookup("material").orElseThrow();
      Modality roughness = Modality.lookup("roughness").orElseThrow();
      Golden.assertClose(hwc(p.map(albedo).valuesHwc(), 48, 64), expected.narrow(0, 0, 1),
          g.atol("output.prediction"), "albedo");
      Golden.assertClose(hwc(p.map(material).valuesHwc(), 48, 64), expected.narrow(0, 1, 1),
          g.atol("output.prediction"), "material");
      Golden.assertClose(Tensors.fromFloats(p.map(roughness).values(), 48, 64),
          expected.select(0, 1).select(2, 0), g.atol("output.prediction"), "roughness = material channel 0");
      Golden.assertClose(Tensors.fromFloats(p.map(albedo).uncertainty(), 3, 48, 64).permute(1, 2, 0).unsqueeze(0),
          expectedUnc.narrow(0, 0, 1), g.atol("output.uncertainty"), "albedo uncertainty");
      p.save(tmp, "cats");
      for (String f : List.of("albedo_npy/cats_pred.npy", "albedo_colored/cats_pred_colored.png",
          "material_npy/cats_pred.npy", "roughness_colored/cats_pred_colored.png",
          "metallicity_npy/cats_pred.npy", "albedo_uncertainty/cats_uncertainty.png",
          "roughness_uncertainty_npy/cats_uncertainty.npy")) {
        assertThat(tmp.resolve(f)).as(f).isRegularFile();
      }
      assertThat(Npy.read(tmp.resolve("albedo_npy/cats_pred.npy")).shape()).containsExactly(48L, 64L, 3L);
      assertThat(Npy.read(tmp.resolve("roughness_npy/cats_pred.npy")).shape()).containsExactly(48L, 64L);
      assertThat(Files.exists(tmp.resolve("latent"))).as("latents only when asked for").isFalse();
    }
  }

  private static Tensor hwc(float[] v, int h, int w) {
    return Tensors.fromFloats(v, 1, h, w, 3);
  }
}
