package marigold4j.estimator;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import marigold4j.image.ImageInput;
import marigold4j.image.Npy;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Prediction;
import marigold4j.testing.Golden;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The output registry writes the original scripts' folders, names and layouts, and nothing else. */
class OutputFormatsTest {
  @Test
  void foldersPerMapAndConvention() {
    assertThat(OutputFormats.folders(List.of(Modality.DEPTH), DensePrediction.Convention.RUN_PY))
        .containsExactly("depth_npy", "depth_bw", "depth_colored");
    assertThat(OutputFormats.folders(List.of(Modality.NORMALS), DensePrediction.Convention.RUN_PY))
        .containsExactly("normal_npy", "normal_colored");
    assertThat(OutputFormats.folders(List.of(Modality.DEPTH, Modality.NORMALS),
        DensePrediction.Convention.RUN_INFER_PY))
        .containsExactly("depth_npy", "depth_colored", "normal_npy", "normal_colored");
    assertThat(OutputFormats.kinds()).containsExactly("npy", "png16", "colored", "uncertainty", "uncertainty_npy",
        "latent", "exr", "metric_npy", "metric_json", "metric_exr", "ply", "mesh_ply", "glb");
  }

  @Test
  void lotusInferPyPlacesTheFilesInItsOwnFoldersAndNames() {
    DensePrediction.Convention lotus = DensePrediction.Convention.LOTUS_INFER_PY;
    // infer.py's folders, plus marigold4j's own 16-bit PNG
    assertThat(OutputFormats.folders(List.of(Modality.DEPTH), lotus)).containsExactly("depth", "depth_bw", "depth_vis");
    assertThat(OutputFormats.folders(List.of(Modality.NORMALS), lotus)).containsExactly("normal", "normal_vis");
    Path out = Path.of("out");
    assertThat(OutputFormats.files(List.of(Modality.NORMALS), lotus, out, "a"))
        .containsExactly(out.resolve("normal/a.npy"), out.resolve("normal_vis/a.png"));
  }

  @Test
  void aMarigoldDepthPredictionWritesRunPysThreeFiles(@TempDir Path tmp) throws Exception {
    Golden.load("pipelines", "depth_e2e_res0");                       // engine + threads as the goldens run
    try (PointerScope scope = new PointerScope();
        Estimator e = Estimators.load(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth"), "tiny",
            marigold4j.pipeline.Precision.FP32, "cpu")) {
      DensePrediction p = e.predict(ImageInput.read(Golden.fixtures().resolve("images/synthetic_gray_64x48.png")),
          EstimatorSettings.builder().processingRes(64).build(), e.seeded(1));
      p.save(tmp, "gray");
      try (var files = Files.walk(tmp)) {
        assertThat(files.filter(Files::isRegularFile).map(f -> tmp.relativize(f).toString()).sorted().toList())
            .containsExactly("depth_bw/gray_pred.png", "depth_colored/gray_pred_colored.png",
                "depth_npy/gray_pred.npy");
      }
      assertThat(Npy.read(tmp.resolve("depth_npy/gray_pred.npy")).shape()).containsExactly(48L, 64L);
    }
  }

  @Test
  void geoWizardNormalsAreSavedHeightWidthChannelsAsRunInferPyDoes(@TempDir Path tmp) throws Exception {
    Golden.load("pipelines", "depth_e2e_res0");
    Path ckpt = Golden.fixtures().resolve("checkpoints/tiny-geowizard");
    try (PointerScope scope = new PointerScope(); Estimator e = Estimators.load(ckpt, "tiny-geowizard",
        marigold4j.pipeline.Precision.FP32, "cpu")) {
      assertThat(e.maps()).containsExactly(Modality.DEPTH, Modality.NORMALS);
      DensePrediction p = e.predict(ImageInput.read(Golden.fixtures().resolve("images/synthetic_gray_64x48.png")),
          EstimatorSettings.builder().processingRes(64).build(), e.seeded(1));
      p.save(tmp, "gray");
      assertThat(Npy.read(tmp.resolve("normal_npy/gray_pred.npy")).shape()).containsExactly(48L, 64L, 3L);
      assertThat(Files.exists(tmp.resolve("depth_bw"))).as("run_infer.py writes no 16-bit depth").isFalse();
    }
  }
  /** The typed API's {@code Prediction.save} and the registry write the same run.py files, byte for byte. */
  @Test
  void theTypedSaveAndTheRegistryWriteTheSameFiles(@TempDir Path tmp) throws Exception {
    int h = 6;
    int w = 8;
    float[] depth = new float[h * w];
    float[] normals = new float[3 * h * w];
    for (int i = 0; i < depth.length; i++) {
      depth[i] = i / (float) depth.length;
      normals[i] = 0.6f;
      normals[depth.length + i] = -0.8f * (i % 2);
      normals[2 * depth.length + i] = 0.8f * ((i + 1) % 2);
    }
    byte[] rgb = new byte[3 * h * w];
    for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) (7 * i);
    for (Prediction p : List.of(Prediction.of(Modality.DEPTH, h, w, depth, rgb, null, null),
        Prediction.of(Modality.NORMALS, h, w, normals, rgb, null, null))) {
      Path typed = tmp.resolve("typed-" + p.modality().cliName());
      Path registry = tmp.resolve("registry-" + p.modality().cliName());
      p.save(typed, "x");
      new DensePrediction(Map.of(p.modality(), p), DensePrediction.Convention.RUN_PY).save(registry, "x");
      assertThat(tree(typed)).as(p.modality().cliName()).isNotEmpty()
          .containsExactlyInAnyOrderEntriesOf(tree(registry));
    }
  }

  private static Map<String, byte[]> tree(Path dir) throws java.io.IOException {
    Map<String, byte[]> out = new java.util.TreeMap<>();
    try (var files = Files.walk(dir)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        out.put(dir.relativize(f).toString(), Files.readAllBytes(f));
      }
    }
    return out;
  }
}
