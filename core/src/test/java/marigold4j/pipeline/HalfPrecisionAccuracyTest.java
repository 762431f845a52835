package marigold4j.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import marigold4j.image.ImageInput;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --half-precision} on the CPU (bf16 weights and activations, attention in fp32) against fp32, on the tiny
 * depth checkpoint and the fixture photos.
 *
 * <p>Issue 9 targets 1% AbsRel. Measured here: 1.21% (cats, 768) and 1.85% (cats crop, native size); rounding only
 * the weights to bf16 already costs 0.52% and 1.00%. The tiny checkpoint's random weights (random norm scales and biases) lose about 1.5-2.3% per stage
 * in bf16 even from identical inputs (VAE encode 1.9%, UNet 1.5%, VAE decode 2.3%, relative L1), so this bound is
 * the measured one with margin, not the issue's; see docs/performance.md.
 */
class HalfPrecisionAccuracyTest {
  private static final Logger LOG = LoggerFactory.getLogger(HalfPrecisionAccuracyTest.class);

  @ParameterizedTest
  @CsvSource({"photo_coco_cats_128x96.png, 768", "photo_coco_cats_crop_101x75.png, 0"})
  void bf16DepthStaysWithinTwoAndAHalfPercentAbsRelOfFp32(String image, int processingRes) {
    Path ckpt = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth");
    float[] fp32;
    float[] bf16;
    try (PointerScope scope = new PointerScope()) {
      Tensor rgb = ImageInput.readRgb(Golden.fixtures().resolve("images/" + image));
      try (MarigoldPipeline p = MarigoldPipeline.load(ckpt, Precision.FP32, "cpu")) {
        fp32 = p.predict(rgb, p.defaults(Modality.DEPTH).withProcessingRes(processingRes), null).values();
      }
      try (MarigoldPipeline p = MarigoldPipeline.load(ckpt, Precision.BF16, "cpu")) {
        bf16 = p.predict(rgb, p.defaults(Modality.DEPTH).withProcessingRes(processingRes), null).values();
      }
    }
    // The depth maps are min-max normalised to [0, 1], so the fp32 map is 0 at its nearest pixel: AbsRel is taken
    // where the reference depth is at least 0.05 (as evaluations mask invalid near-zero depth).
    double sum = 0;
    int n = 0;
    double maxAbs = 0;
    for (int i = 0; i < fp32.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(bf16[i] - fp32[i]));
      if (fp32[i] < 0.05f) continue;
      sum += Math.abs(bf16[i] - fp32[i]) / fp32[i];
      n++;
    }
    double absRel = sum / n;
    LOG.info("{}: bf16 vs fp32 AbsRel {} over {} of {} pixels, max |diff| {}", image, absRel, n, fp32.length, maxAbs);
    assertThat(n).isGreaterThan(fp32.length / 2);
    assertThat(absRel).isLessThan(0.025);
  }

  /**
   * GeoWizard in bf16 (its CLIP image encoder included; the antialiased bicubic CLIP resize has no bf16 CPU kernel
   * and runs in fp32) against fp32, zeros noise: depth AbsRel as above, normals by their mean angle. Measured: 3.4%
   * AbsRel and 2.4 degrees (the tiny random GeoWizard loses more than the Marigold one: its image encoder runs in bf16
   * too); asserted with margin as a guard, like the bound above.
   */
  @org.junit.jupiter.api.Test
  void geoWizardRunsInBf16CloseToFp32() {
    Path ckpt = Golden.fixtures().resolve("checkpoints/tiny-geowizard");
    GeoWizardOptions options = GeoWizardOptions.defaults(Domain.INDOOR).withProcessingRes(64)
        .withNoise(NoiseType.ZEROS);
    var image = ImageInput.read(Golden.fixtures().resolve("images/photo_coco_cats_128x96.png"));
    GeoWizardPrediction fp32;
    GeoWizardPrediction bf16;
    try (GeoWizardPipeline p = GeoWizardPipeline.load(ckpt, Precision.FP32, "cpu")) {
      fp32 = p.predict(image, options, null);
    }
    try (GeoWizardPipeline p = GeoWizardPipeline.load(ckpt, Precision.BF16, "cpu")) {
      bf16 = p.predict(image, options, null);
    }
    float[] d32 = fp32.depth().values();
    float[] d16 = bf16.depth().values();
    double sum = 0;
    int n = 0;
    for (int i = 0; i < d32.length; i++) {
      if (d32[i] < 0.05f) continue;
      sum += Math.abs(d16[i] - d32[i]) / d32[i];
      n++;
    }
    float[] n32 = fp32.normalsHwc();
    float[] n16 = bf16.normalsHwc();
    double angle = 0;
    for (int i = 0; i < n32.length; i += 3) {
      double dot = n32[i] * n16[i] + n32[i + 1] * n16[i + 1] + n32[i + 2] * n16[i + 2];
      angle += Math.toDegrees(Math.acos(Math.max(-1, Math.min(1, dot))));
    }
    angle /= n32.length / 3;
    LOG.info("GeoWizard bf16 vs fp32: depth AbsRel {} over {} pixels, normals mean angle {} deg", sum / n, n, angle);
    assertThat(n).isGreaterThan(d32.length / 2);
    assertThat(sum / n).isLessThan(0.05);
    assertThat(angle).isLessThan(4.0);
  }
}
