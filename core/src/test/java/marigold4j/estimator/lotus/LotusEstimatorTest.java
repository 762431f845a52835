package marigold4j.estimator.lotus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Detection;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.estimator.Estimators;
import marigold4j.image.ImageInput;
import marigold4j.image.Npy;
import marigold4j.image.Resize.Interpolation;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Lotus through the estimator core: detection, settings in the shared vocabulary, the infer.py files, against the
 * pipeline goldens (testdata/lotus/pipelines). Tolerances: the {@code .npy} values within the case's suggested atol
 * for {@code final.depth_npy} / {@code final.pred}; colour PNG values as the pipeline test (at most 0.1 % of the values
 * off, by at most 3 units for Spectral, 1 for normals).
 */
class LotusEstimatorTest {
  private static Estimator load(String checkpoint, String name) {
    Path dir = Golden.fixtures().resolve("checkpoints/" + checkpoint);
    return Estimators.load(dir, Estimators.detect(dir, name), Precision.FP32, "cpu");
  }

  /** The golden's infer.py options as {@link EstimatorSettings}, every value spelled out. */
  private static EstimatorSettings settings(JsonNode infer) {
    JsonNode res = infer.path("--processing_res");
    return EstimatorSettings.builder().processingRes(res.isNull() ? null : res.asInt())
        .matchInputRes(!infer.path("--output_processing_res").asBoolean())
        .resample(Interpolation.fromMarigoldName(infer.path("--resample_method").asText()))
        .timestep(infer.path("--timestep").asInt()).disparity(infer.path("--disparity").asBoolean()).build();
  }

  @ParameterizedTest
  @ValueSource(strings = {"depth_g_disparity_res96_odd", "depth_d_res64_nearest_no_match",
      "depth_d_timestep500_res0_gray", "normal_g_res96_rgba"})
  void writesInferPysFilesFromTheSharedSettings(String caseName, @TempDir Path tmp) throws IOException {
    Golden g = Golden.load("lotus/pipelines", caseName);
    JsonNode json = g.json();
    String checkpoint = json.path("checkpoint").asText().substring("checkpoints/".length());
    try (Estimator e = load(checkpoint, checkpoint); PointerScope scope = new PointerScope()) {
      assertThat(e.family()).isEqualTo("lotus");
      DensePrediction p = e.predict(ImageInput.read(Golden.fixtures().resolve(json.path("input_image").asText())),
          settings(json.path("infer_py_equivalent")), e.seeded(json.path("seed_all").asLong()));
      p.save(tmp, "img");
      boolean normals = e.maps().equals(List.of(Modality.NORMALS));
      String task = normals ? "normal" : "depth";
      try (Stream<Path> files = Files.walk(tmp)) {
        assertThat(files.filter(Files::isRegularFile).map(f -> tmp.relativize(f).toString()).sorted().toList())
            .containsExactlyElementsOf(normals ? List.of("normal/img.npy", "normal_vis/img.png")
                // infer.py's two files, plus marigold4j's own 16-bit PNG
                : List.of("depth/img.npy", "depth_bw/img_pred.png", "depth_vis/img.png"));
      }
      Npy.Array npy = Npy.read(tmp.resolve(task + "/img.npy"));
      String key = normals ? "final.pred" : "final.depth_npy";
      assertThat(npy.shape()).isEqualTo(Tensors.shape(g.tensor(key)));
      assertThat(maxAbsDiff(npy.toFloats(), Tensors.toFloats(g.tensor(key)))).as(key).isLessThanOrEqualTo(g.atol(key));
      byte[] want = Tensors.toBytes(g.tensor(normals ? "final.normal_colored" : "final.depth_colored"));
      int[] got = javax.imageio.ImageIO.read(tmp.resolve(task + "_vis/img.png").toFile()).getRaster()
          .getPixels(0, 0, (int) npy.shape()[1], (int) npy.shape()[0], (int[]) null);
      assertThat(got).hasSize(want.length);
      int off = 0;
      int worst = 0;
      for (int i = 0; i < want.length; i++) {
        int d = Math.abs(got[i] - (want[i] & 0xff));
        if (d != 0) off++;
        worst = Math.max(worst, d);
      }
      assertThat(off).as("PNG values off").isLessThanOrEqualTo((int) Math.ceil(want.length * 0.001));
      assertThat(worst).as("PNG units").isLessThanOrEqualTo(normals ? 1 : 3);
    }
  }

  @Test
  void defaultsAreInferPysAndTheDisparityReleaseReversesItsColours() {
    Path dir = Golden.fixtures().resolve("checkpoints/tiny-lotus-depth-d");
    Detection d = Estimators.detect(dir, "jingheya/lotus-depth-d-v2-0-disparity");
    try (Estimator e = Estimators.load(dir, d, Precision.FP32, "cpu")) {
      EstimatorSettings s = e.defaults();
      assertThat(s.processingRes()).isEqualTo(768);
      assertThat(s.timestep()).isEqualTo(999);
      assertThat(s.resample()).isEqualTo(Interpolation.BILINEAR);
      assertThat(s.matchInputRes()).isTrue();
      assertThat(s.disparity()).isTrue();
      assertThat(((LotusEstimator) e).options(EstimatorSettings.defaults()).disparity()).isTrue();
      assertThat(((LotusEstimator) e).options(EstimatorSettings.builder().disparity(false).build()).disparity())
          .isFalse();
    }
  }

  @Test
  void refusesWhatAOneStepModelCannotDo() {
    try (Estimator e = load("tiny-lotus-depth-d", "tiny-lotus-depth-d")) {
      var image = ImageInput.read(Golden.fixtures().resolve("images/synthetic_gray_64x48.png"));
      assertThatThrownBy(() -> e.predict(image, EstimatorSettings.builder().denoisingSteps(4).build(), e.seeded(0)))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--denoise-steps 4");
      assertThatThrownBy(() -> EstimatorSettings.builder().timestep(-1).build())
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--timestep");
    }
  }

  /**
   * marigold4j's own ensemble for Lotus: E calls drawing successive noise from one seeded source, aligned and reduced
   * as diffusers' Marigold ensembles depth (median, MAD uncertainty) and normals (normalised mean). Checked against the
   * same reduction of E single calls made with the same source, and the files written (uncertainty included).
   */
  @Test
  void ensemblesSuccessiveDrawsWithUncertainty(@TempDir Path tmp) throws IOException {
    for (String ckpt : List.of("tiny-lotus-depth-g", "tiny-lotus-normal-g")) {
      try (Estimator e = load(ckpt, ckpt); PointerScope scope = new PointerScope()) {
        var image = ImageInput.read(Golden.fixtures().resolve("images/synthetic_gray_64x48.png"));
        EstimatorSettings one = EstimatorSettings.builder().processingRes(32).build();
        DensePrediction ens = e.predict(image, one.toBuilder().ensembleSize(3).build(), e.seeded(5));
        var draws = e.seeded(5);
        boolean depth = e.maps().equals(List.of(Modality.DEPTH));
        int c = depth ? 1 : 3;
        float[] all = new float[3 * c * 48 * 64];
        for (int i = 0; i < 3; i++) {
          float[] v = e.predict(image, one, draws).map(e.maps().get(0)).values();
          System.arraycopy(v, 0, all, i * v.length, v.length);
        }
        var stacked = Tensors.fromFloats(all, 3, c, 48, 64);
        var expected = depth
            ? marigold4j.pipeline.diffusers.MarigoldEnsembles.depth(stacked, true, true, true,
                marigold4j.pipeline.diffusers.MarigoldEnsembles.Reduction.MEDIAN,
                marigold4j.pipeline.diffusers.MarigoldEnsembles.DepthSettings.defaults(), null)
            : marigold4j.pipeline.diffusers.MarigoldEnsembles.normals(stacked, true,
                marigold4j.pipeline.diffusers.MarigoldEnsembles.Reduction.MEAN);
        var map = ens.map(e.maps().get(0));
        assertThat(maxAbsDiff(map.values(), Tensors.toFloats(expected.prediction().contiguous()))).as(ckpt)
            .isLessThanOrEqualTo(1e-6);
        assertThat(maxAbsDiff(map.uncertainty(), Tensors.toFloats(expected.uncertainty().contiguous())))
            .as(ckpt + " uncertainty").isLessThanOrEqualTo(1e-6);
        assertThat(map.uncertaintyShape()).containsExactly(48, 64);
        Path out = tmp.resolve(ckpt);
        ens.save(out, "img");
        String prefix = depth ? "depth" : "normal";
        assertThat(out.resolve(prefix + "_uncertainty/img_uncertainty.png")).isRegularFile();
        assertThat(Npy.read(out.resolve(prefix + "_uncertainty_npy/img_uncertainty.npy")).shape())
            .containsExactly(48L, 64L);
      }
    }
  }

  /**
   * {@code --half-precision} (bf16 on the CPU) runs Lotus end to end with the same draws. The tiny checkpoint's random
   * weights lose about 2 % per stage in bf16 (see HalfPrecisionAccuracyTest), and the VAE sample multiplies the
   * posterior's large std (up to ~10 here) by eps. Measured: mean |bf16 - fp32| of the depth .npy (values in
   * [0, 1]) 0.0048; bound 0.02.
   */
  @Test
  void halfPrecisionRunsLotusWithTheSameDraws() {
    Golden g = Golden.load("lotus/pipelines", "depth_g_res0");
    Path dir = Golden.fixtures().resolve("checkpoints/tiny-lotus-depth-g");
    Detection d = Estimators.detect(dir, "tiny-lotus-depth-g");
    var image = ImageInput.read(Golden.fixtures().resolve(g.json().path("input_image").asText()));
    EstimatorSettings s = EstimatorSettings.builder().processingRes(0).build();
    try (Estimator e = Estimators.load(dir, d, Precision.BF16, "cpu"); PointerScope scope = new PointerScope()) {
      float[] half = e.predict(image, s, e.seeded(0)).map(Modality.DEPTH).values();
      float[] full = Tensors.toFloats(g.tensor("final.depth_npy"));
      assertThat(half).hasSameSizeAs(full);
      double sum = 0;
      for (int i = 0; i < full.length; i++) sum += Math.abs(half[i] - full[i]);
      assertThat(sum / full.length).isLessThan(0.02);
    }
  }

  private static double maxAbsDiff(float[] a, float[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
    return m;
  }
}
