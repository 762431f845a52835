package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import marigold4j.image.Npy;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code predict} given Lotus' infer.py command line as it is (testdata/lotus/cli): the same files in the same folders
 * and names, and nothing else. Tolerances: {@code .npy} values within the largest suggested atol of the matching
 * pipeline goldens (depth 4.4e-4, normals 1.5e-3: the 768-pixel cases); colour PNGs at most 0.1 % of the values off,
 * by at most 3 units (Spectral) or 1 (normals).
 */
class LotusPredictCommandTest {
  private static final Path CASES = Golden.fixtures().resolve("lotus/cli");

  @ParameterizedTest
  @ValueSource(strings = {"infer_depth_g_disparity_defaults", "infer_normal_d_res0",
      "infer_depth_d_res64_outres_bicubic", "infer_normal_g_res64"})
  void writesWhatInferPyWrote(String caseName, @TempDir Path tmp) throws IOException {
    Path caseDir = CASES.resolve(caseName);
    JsonNode c = Golden.readJson(caseDir.resolve("case.json"));
    Path input = Files.createDirectories(tmp.resolve("input"));
    for (JsonNode f : c.path("input_files")) {
      Path src = Golden.fixtures().resolve(f.asText());
      Files.copy(src, input.resolve(src.getFileName()));
    }
    Path output = tmp.resolve("output");
    List<String> args = new ArrayList<>(List.of("predict"));
    List<String> original = Arrays.asList(c.path("command").asText().split(" "));
    for (String a : original.subList(original.indexOf("infer.py") + 1, original.size())) {
      if (a.startsWith("checkpoints/")) a = Golden.fixtures().resolve(a).toString();
      else if (a.equals("input")) a = input.toString();
      else if (a.equals("output")) a = output.toString();
      args.add(a);
    }
    CliRun r = CliRun.of(args.toArray(new String[0]));
    assertThat(r.exitCode()).as(r.err()).isZero();
    for (JsonNode f : c.path("output_files")) {
      String rel = f.path("path").asText().substring("output/".length());
      Path got = output.resolve(rel);
      Path want = caseDir.resolve("output").resolve(rel);
      assertThat(got).as(rel).exists();
      boolean normals = rel.startsWith("normal");
      if (rel.endsWith(".npy")) {
        Npy.Array a = Npy.read(got);
        Npy.Array b = Npy.read(want);
        assertThat(a.shape()).as(rel + " shape").isEqualTo(b.shape());
        assertThat(a.dtype()).isEqualTo(Npy.DType.F4);
        assertThat(maxAbsDiff(a.toFloats(), b.toFloats())).as(rel).isLessThanOrEqualTo(normals ? 1.5e-3 : 4.4e-4);
      } else {
        int[] a = pixels(got);
        int[] b = pixels(want);
        assertThat(a).as(rel + " size").hasSameSizeAs(b);
        int off = 0;
        int worst = 0;
        for (int i = 0; i < a.length; i++) {
          if (a[i] != b[i]) off++;
          worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        assertThat(off).as(rel + " values off").isLessThanOrEqualTo((int) Math.ceil(a.length * 0.001));
        assertThat(worst).as(rel + " units").isLessThanOrEqualTo(normals ? 1 : 3);
      }
    }
    // infer.py's files, plus marigold4j's own 16-bit PNG beside each depth map
    int own = 0;
    for (JsonNode f : c.path("output_files")) {
      String rel = f.path("path").asText().substring("output/".length());
      if (rel.startsWith("depth/") && rel.endsWith(".npy")) {
        String name = rel.substring("depth/".length(), rel.length() - ".npy".length());
        assertThat(output.resolve("depth_bw").resolve(name + "_pred.png")).as("16-bit " + name).isRegularFile();
        own++;
      }
    }
    try (Stream<Path> written = Files.walk(output)) {
      assertThat(written.filter(Files::isRegularFile).count()).isEqualTo(c.path("output_files").size() + own);
    }
  }

  @Test
  void aModeThatContradictsTheCheckpointIsAnErrorNamingBoth(@TempDir Path tmp) {
    Path ckpt = Golden.fixtures().resolve("checkpoints/tiny-lotus-depth-d");
    CliRun r = CliRun.of("predict", "--pretrained_model_name_or_path", ckpt.toString(), "--mode", "generation",
        "--output_dir", tmp.resolve("o").toString(),
        Golden.fixtures().resolve("images/synthetic_gray_64x48.png").toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains("--mode generation").contains("Lotus-D").contains("LotusDPipeline")
        .doesNotContain("Exception");
  }

  @Test
  void modeIsLotusOnly(@TempDir Path tmp) {
    CliRun r = CliRun.of("predict", "--checkpoint", PredictCommandTest.TINY_DEPTH.toString(), "--mode", "regression",
        "-o", tmp.resolve("o").toString(), Golden.fixtures().resolve("images/synthetic_gray_64x48.png").toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains("--mode regression is Lotus' option").contains("marigold checkpoint");
  }

  @Test
  void foldersAreSearchedAsInferPySearchesThem(@TempDir Path tmp) throws IOException {
    Path input = Files.createDirectories(tmp.resolve("input/sub"));
    Path gray = Golden.fixtures().resolve("images/synthetic_gray_64x48.png");
    Files.copy(gray, input.resolve("nested.png"));
    Files.copy(gray, tmp.resolve("input/top.png"));
    Files.copy(gray, tmp.resolve("input/skipped.PNG"));           // rglob('*.png') is case-sensitive
    Path out = tmp.resolve("o");
    CliRun r = CliRun.of("predict", "--pretrained_model_name_or_path",
        Golden.fixtures().resolve("checkpoints/tiny-lotus-normal-d").toString(), "--task_name", "normal",
        "--processing_res", "0", "--seed", "1", "--input_dir", tmp.resolve("input").toString(), "--output_dir",
        out.toString());
    assertThat(r.exitCode()).as(r.err()).isZero();
    try (Stream<Path> written = Files.walk(out)) {
      assertThat(written.filter(Files::isRegularFile).map(p -> out.relativize(p).toString()).sorted().toList())
          .containsExactly("normal/nested.npy", "normal/top.npy", "normal_vis/nested.png", "normal_vis/top.png");
    }
  }

  @Test
  void helpExplainsTheLotusOptions() {
    CliRun r = CliRun.of("predict", "--help");
    assertThat(r.exitCode()).isZero();
    for (String o : List.of("--pretrained_model_name_or_path", "--task_name", "--mode", "--timestep", "--disparity",
        "--prediction_type", "--input_dir", "--output_dir", "--processing_res", "--output_processing_res",
        "--resample_method", "--half_precision", "Lotus")) {
      assertThat(r.out()).contains(o);
    }
  }

  private static int[] pixels(Path png) throws IOException {
    Raster r = ImageIO.read(png.toFile()).getRaster();
    return r.getPixels(0, 0, r.getWidth(), r.getHeight(), (int[]) null);
  }

  private static double maxAbsDiff(float[] a, float[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
    return m;
  }
}
