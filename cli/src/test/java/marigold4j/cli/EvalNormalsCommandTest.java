package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code eval normals} on the DSINE fixture. */
class EvalNormalsCommandTest {
  private static final Path CASE = Golden.fixtures().resolve("eval/normals/dsine_all");
  private static final Path EXPECTED = CASE.resolve("expected/experiments/normals/dsine/Marigold/Marigold-E2E-FT");

  private static CliRun run(String... args) {
    String[] full = new String[args.length + 2];
    full[0] = "eval";
    full[1] = "normals";
    System.arraycopy(args, 0, full, 2, args.length);
    return CliRun.of(full);
  }

  @Test
  void evaluatesSavedPredictionsAndWritesTheOriginalFilesByteForByte(@TempDir Path out) throws IOException {
    CliRun r = run("--predictions", CASE.resolve("prediction").toString(),
        "--checkpoint", "GonzaloMG/marigold-e2e-ft-normals",
        "--data-dir", CASE.resolve("data/dsine_eval").toString(), "--output", out.toString());
    assertThat(r.exitCode()).as(r.err()).isZero();
    for (String d : new String[] {"nyuv2", "scannet", "ibims", "sintel"}) {
      assertThat(Files.readAllBytes(out.resolve("test").resolve(d).resolve("metrics.txt"))).as(d)
          .isEqualTo(Files.readAllBytes(EXPECTED.resolve("test").resolve(d).resolve("metrics.txt")));
    }
    assertThat(out.resolve("test/oasis")).doesNotExist();
    assertThat(Files.readAllBytes(out.resolve("log/params.txt")))
        .isEqualTo(Files.readAllBytes(EXPECTED.resolve("log/params.txt")));
    assertThat(r.out()).contains("mean median rmse 5 7.5 11.25 22.5 30",
        "18.983 8.557 34.721 22.203 41.890 66.245 84.243 85.144", "Metrics saved to ");
  }

  @Test
  void evaluatesOasisAndVirtualKittiWhenListed(@TempDir Path out) throws IOException {
    CliRun r = run("--predictions", CASE.resolve("prediction").toString(), "--datasets", "oasis,vkitti",
        "--data-dir", CASE.resolve("data/dsine_eval").toString(), "--output", out.toString());
    assertThat(r.exitCode()).as(r.err()).isZero();
    for (String d : new String[] {"oasis", "vkitti"}) {
      assertThat(Files.readString(out.resolve("test").resolve(d).resolve("metrics.txt"))).as(d)
          .isEqualTo(Files.readString(EXPECTED.resolve("test").resolve(d).resolve("metrics.txt")));
    }
    assertThat(Files.readString(out.resolve("log/params.txt"))).contains("ckpt_path: None\n", "eval_data: oasis,vkitti\n");
  }

  /** {@code --checkpoint} runs the Marigold normals pipeline (the tiny fixture checkpoint) and evaluates it. */
  @Test
  void checkpointInferenceRunsThePipelineAndWritesMetrics(@TempDir Path out) throws IOException {
    CliRun r = run("--checkpoint", Golden.fixtures().resolve("checkpoints/tiny-marigold-normals").toString(),
        "--datasets", "ibims", "--data-dir", CASE.resolve("data/dsine_eval").toString(), "--output", out.toString());
    assertThat(r.exitCode()).as(r.err()).isZero();
    String metrics = Files.readString(out.resolve("test/ibims/metrics.txt"));
    assertThat(metrics).isNotBlank().doesNotContain("nan");
    assertThat(Files.readString(out.resolve("log/params.txt"))).contains("tiny-marigold-normals");
  }

  @Test
  void missingPredictionIsOneLineNamingTheFile(@TempDir Path out, @TempDir Path empty) {
    CliRun r = run("--predictions", empty.toString(), "--datasets", "ibims",
        "--data-dir", CASE.resolve("data/dsine_eval").toString(), "--output", out.toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err().strip()).isEqualTo("error: " + empty.resolve("ibims/ibims/corridor_01_pred.npy")
        + ": prediction not found (2 of 2 missing for ibims)");
  }

  @Test
  void unknownDatasetAndMissingSourceAreUserErrors(@TempDir Path out) {
    CliRun bad = run("--predictions", CASE.resolve("prediction").toString(), "--datasets", "kitti",
        "--data-dir", CASE.resolve("data/dsine_eval").toString(), "--output", out.toString());
    assertThat(bad.exitCode()).isEqualTo(2);
    assertThat(bad.err()).contains("unknown DSINE dataset 'kitti'").doesNotContain("Exception");
    CliRun none = run("--data-dir", CASE.resolve("data/dsine_eval").toString(), "--output", out.toString());
    assertThat(none.exitCode()).isEqualTo(2);
    assertThat(none.err()).contains("--predictions DIR").contains("--checkpoint");
  }

  @Test
  void missingDataFolderIsNamed(@TempDir Path out) {
    CliRun r = run("--predictions", CASE.resolve("prediction").toString(), "--data-dir", out.resolve("nope").toString(),
        "--output", out.toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err().strip()).isEqualTo("error: " + out.resolve("nope") + ": data folder not found");
  }

  @Test
  void helpDescribesEveryOption() {
    CliRun r = run("--help");
    assertThat(r.exitCode()).isZero();
    assertThat(r.out()).contains("--checkpoint", "--predictions", "--data-dir", "--split-dir", "--output",
        "--datasets", "--prediction-frame", "--denoise-steps", "--ensemble-size", "--processing-res",
        "--resample-method", "--noise", "--timestep-spacing", "--seed", "--exp-name", "--exp-id");
    CommandLine.Model.CommandSpec spec = new CommandLine(new EvalNormalsCommand()).getCommandSpec();
    spec.options().forEach(o -> assertThat(o.description()).as(o.longestName()).isNotEmpty());
  }
}
