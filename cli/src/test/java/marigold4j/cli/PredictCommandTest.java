package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
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

/** The files {@code predict} writes, against the files the original run.py wrote (testdata/cli/). */
class PredictCommandTest {
  static final Path TINY_DEPTH = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth");

  /**
   * The original command line is passed as is (run.py's underscore spellings are aliases), with the paths made
   * local. Tolerances: .npy within the largest suggested_atol of the matching pipeline goldens (Marigold depth 2e-4,
   * normals 2e-3; GeoWizard depth 2.2e-4, normals 4e-3); 16-bit PNGs within that times 65535 plus one unit of truncation; 8-bit colour PNGs as the pipeline test
   * (at most 0.1 % of the values off, by at most 3 units for the Spectral LUT, 1 for normals).
   */
  @ParameterizedTest
  @ValueSource(strings = {"marigold_depth_defaults", "marigold_depth_ens3_gaussian_bicubic_res64",
      "marigold_normals_defaults", "marigold_normals_pyramid_leading_res64_outres", "geowizard_object_res0",
      "geowizard_outdoor_res64_ens2_gaussian"})
  void writesWhatRunPyWrote(String caseName, @TempDir Path tmp) throws IOException {
    Path caseDir = Golden.fixtures().resolve("cli").resolve(caseName);
    JsonNode c = Golden.readJson(caseDir.resolve("case.json"));
    Path input = Files.createDirectories(tmp.resolve("input"));
    for (JsonNode f : c.path("input_files")) {
      Path src = Golden.fixtures().resolve(f.asText());
      Files.copy(src, input.resolve(src.getFileName()));
    }
    Path output = tmp.resolve("output");
    List<String> args = new ArrayList<>(List.of("predict"));
    List<String> original = Arrays.asList(c.path("command").asText().split(" "));
    int script = original.indexOf(caseName.startsWith("geowizard") ? "GeoWizard/run_infer.py" : "Marigold/run.py");
    for (String a : original.subList(script + 1, original.size())) {
      if (a.startsWith("checkpoints/")) a = Golden.fixtures().resolve(a).toString();
      else if (a.equals("input")) a = input.toString();
      else if (a.equals("output")) a = output.toString();
      args.add(a);
    }
    CliRun r = CliRun.of(args.toArray(new String[0]));
    assertThat(r.exitCode()).as(r.err()).isZero();
    boolean geowizard = caseName.startsWith("geowizard");
    boolean normals = caseName.contains("normals");
    double atol = normals ? 2e-3 : geowizard ? 2.2e-4 : 2e-4;
    for (JsonNode f : c.path("output_files")) {
      String rel = f.path("path").asText().substring("output/".length());
      Path got = output.resolve(rel);
      Path want = caseDir.resolve("output").resolve(rel);
      assertThat(got).as(rel).exists();
      boolean normalFile = rel.startsWith("normal_");
      if (geowizard) atol = normalFile ? 4e-3 : 2.2e-4;
      if (rel.endsWith(".npy")) {
        Npy.Array a = Npy.read(got);
        Npy.Array b = Npy.read(want);
        assertThat(a.shape()).as(rel + " shape").isEqualTo(b.shape());
        assertThat(a.dtype()).isEqualTo(Npy.DType.F4);
        assertThat(maxAbsDiff(a.toFloats(), b.toFloats())).as(rel).isLessThanOrEqualTo(atol);
      } else if (rel.startsWith("depth_bw")) {
        int[] a = pixels(got);
        int[] b = pixels(want);
        int worst = 0;
        for (int i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
        assertThat(a).hasSameSizeAs(b);
        assertThat(worst).as(rel + " 16-bit units").isLessThanOrEqualTo((int) Math.ceil(atol * 65535) + 1);
      } else {
        int[] a = pixels(got);
        int[] b = pixels(want);
        assertThat(a).hasSameSizeAs(b);
        int off = 0;
        int worst = 0;
        for (int i = 0; i < a.length; i++) {
          if (a[i] != b[i]) off++;
          worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        assertThat(off).as(rel + " values off").isLessThanOrEqualTo((int) Math.ceil(a.length * 0.001));
        assertThat(worst).as(rel + " units").isLessThanOrEqualTo(normals || normalFile ? 1 : 3);
      }
    }
    try (Stream<Path> written = Files.walk(output)) {
      assertThat(written.filter(Files::isRegularFile).count()).isEqualTo(c.path("output_files").size());
    }
  }

  @Test
  void aBrokenImageIsReportedAndTheOthersStillComplete(@TempDir Path tmp) throws IOException {
    Path input = Files.createDirectories(tmp.resolve("in"));
    Files.copy(Golden.fixtures().resolve("images/synthetic_gray_64x48.png"), input.resolve("a_good.png"));
    byte[] png = Files.readAllBytes(Golden.fixtures().resolve("images/photo_coco_cats_128x96.png"));
    Files.write(input.resolve("b_truncated.png"), Arrays.copyOf(png, png.length / 3));
    Files.writeString(input.resolve("c_not_an_image.jpg"), "hello");
    Path output = tmp.resolve("out");

    CliRun r = CliRun.of("predict", "--checkpoint", TINY_DEPTH.toString(), "--processing-res", "0",
        "--output", output.toString(), input.toString());

    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err()).contains("b_truncated.png").contains("c_not_an_image.jpg").doesNotContain("Exception");
    assertThat(output.resolve("depth_npy/a_good_pred.npy")).exists();
    assertThat(r.out()).contains("1 of 3 images").contains("2 failed");
    try (Stream<Path> written = Files.walk(output)) {
      assertThat(written.filter(Files::isRegularFile).map(p -> p.getFileName().toString()))
          .allMatch(n -> n.startsWith("a_good"));          // nothing half-written for the bad ones
    }
  }

  /**
   * A Hugging Face id is downloaded into the cache once (here from a local stand-in of the Hub) and predicts the same
   * as the local folder; a second run works with the Hub gone, offline.
   */
  @Test
  void aHubIdIsDownloadedOnceThenWorksOffline(@TempDir Path tmp) throws IOException {
    Path image = Golden.fixtures().resolve("images/synthetic_gray_64x48.png");
    Path cache = tmp.resolve("cache");
    try (marigold4j.hub.FakeHub hub = marigold4j.hub.FakeHub.serving("prs-eth/tiny-marigold-depth", TINY_DEPTH)) {
      CliRun r = CliRun.of("predict", "--checkpoint", "prs-eth/tiny-marigold-depth", "--endpoint", hub.endpoint(),
          "--cache-dir", cache.toString(), "--processing-res", "0", "-o", tmp.resolve("hub").toString(),
          image.toString());
      assertThat(r.exitCode()).as(r.err()).isZero();
    }
    CliRun offline = CliRun.of("predict", "--checkpoint", "prs-eth/tiny-marigold-depth", "--offline",
        "--cache-dir", cache.toString(), "--processing-res", "0", "-o", tmp.resolve("offline").toString(),
        image.toString());
    assertThat(offline.exitCode()).as(offline.err()).isZero();
    CliRun local = CliRun.of("predict", "--checkpoint", TINY_DEPTH.toString(), "--processing-res", "0",
        "-o", tmp.resolve("local").toString(), image.toString());
    assertThat(local.exitCode()).isZero();
    String npy = "depth_npy/synthetic_gray_64x48_pred.npy";
    assertThat(Npy.read(tmp.resolve("hub").resolve(npy)).toFloats())
        .containsExactly(Npy.read(tmp.resolve("local").resolve(npy)).toFloats())
        .containsExactly(Npy.read(tmp.resolve("offline").resolve(npy)).toFloats());
  }

  @Test
  void aNegativeThreadCountIsRejectedBeforeAnythingRuns(@TempDir Path tmp) {
    Path out = tmp.resolve("o");
    CliRun r = CliRun.of("predict", "--offline", "--checkpoint", tmp.resolve("not-downloaded").toString(),
        "--threads", "-2", "-o", out.toString(), tmp.resolve("missing.png").toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).isEqualTo("error: --threads must be 0 (all cores) or more, got -2" + System.lineSeparator());
    assertThat(out).doesNotExist();
  }

  @Test
  void anEmptyFolderIsAClearError(@TempDir Path tmp) throws IOException {
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    CliRun r = CliRun.of("predict", "--checkpoint", TINY_DEPTH.toString(), "-o", tmp.resolve("o").toString(),
        empty.toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains(empty.toString()).contains("no images");
  }

  @Test
  void aCheckpointWithoutItsUnetNamesWhatIsMissing(@TempDir Path tmp) throws IOException {
    Path ckpt = Files.createDirectories(tmp.resolve("ckpt"));
    Files.copy(TINY_DEPTH.resolve("model_index.json"), ckpt.resolve("model_index.json"));
    CliRun r = CliRun.of("predict", "--checkpoint", ckpt.toString(), "-o", tmp.resolve("o").toString(),
        Golden.fixtures().resolve("images/synthetic_gray_64x48.png").toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains(ckpt.toString()).contains("unet/").doesNotContain("Exception");
  }

  @Test
  void anUnwritableOutputIsReportedBeforeLoadingTheModel(@TempDir Path tmp) throws IOException {
    Path blocker = Files.writeString(tmp.resolve("a_file"), "x");
    CliRun r = CliRun.of("predict", "--checkpoint", TINY_DEPTH.toString(), "-o", blocker.resolve("sub").toString(),
        Golden.fixtures().resolve("images/synthetic_gray_64x48.png").toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains("cannot create the output folder");
  }

  @Test
  void helpExplainsEveryOption() {
    CliRun r = CliRun.of("predict", "--help");
    assertThat(r.exitCode()).isZero();
    for (String o : List.of("--checkpoint", "--modality", "--denoise-steps", "--ensemble-size", "--timestep-spacing",
        "--noise", "--processing-res", "--output-processing-res", "--half-precision", "--seed", "--batch-size",
        "--resample-method", "--color-map", "--recursive", "--device", "--offline")) {
      assertThat(r.out()).contains(o);
    }
  }

  private static int[] pixels(Path png) throws IOException {
    BufferedImage img = ImageIO.read(png.toFile());
    Raster r = img.getRaster();
    return r.getPixels(0, 0, r.getWidth(), r.getHeight(), (int[]) null);
  }

  private static double maxAbsDiff(float[] a, float[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
    return m;
  }
}
