package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import marigold4j.eval.depth.DepthPredictor;
import marigold4j.eval.depth.InferenceSettings;
import marigold4j.testing.Golden;
import marigold4j.testing.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code marigold4j eval depth} on the original's golden evaluation cases. */
class EvalDepthCommandTest {
  @TempDir Path tmp;

  private static Path fixture(String name) {
    return Golden.fixtures().resolve("eval/depth").resolve(name);
  }

  /** The original's file with the prediction folder line as this run prints it (the cases ran from their folder). */
  private static String expectedWithPredictionDir(Path file, String predictionDir) throws IOException {
    return Files.readString(file).replace("    of predictions: prediction\n", "    of predictions: " + predictionDir
        + "\n");
  }

  @Test
  void evaluatesAnOriginalDatasetConfigAndWritesTheOriginalsFiles() throws IOException {
    Path c = fixture("scannet_mini");
    Path out = tmp.resolve("eval_metric");
    CliRun r = CliRun.of("eval", "depth", "--dataset-config", c.resolve("config.yaml").toString(), "--data-dir",
        c.resolve("data").toString(), "--predictions", c.resolve("prediction").toString(), "--output", out.toString());
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(Files.readString(out.resolve("eval_metrics-least_square.txt"))).isEqualTo(expectedWithPredictionDir(
        c.resolve("expected/eval_metric/eval_metrics-least_square.txt"), c.resolve("prediction").toString()));
    assertThat(Files.readString(out.resolve("per_sample_metrics.csv")))
        .isEqualTo(Files.readString(c.resolve("expected/eval_metric/per_sample_metrics.csv")));
    assertThat(r.out()).contains("abs_relative_difference").contains("0.06770682086547215");
    assertThat(r.err()).contains("scannet_val_synthetic: 3/3 done");
  }

  @Test
  void evaluatesWithoutAlignmentIntoEvalMetricsTxt() throws IOException {
    Path c = fixture("scannet_mini_noalign");
    Path out = tmp.resolve("eval_metric");
    CliRun r = CliRun.of("eval", "depth", "--dataset-config", c.resolve("config.yaml").toString(), "--data-dir",
        c.resolve("data").toString(), "--predictions", "prediction-dir-text", "--output", out.toString(),
        "--alignment", "none");
    // the predictions are not there: every sample is reported missing, nothing crashes
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.err()).contains("warning: 2 of 2 predictions missing in prediction-dir-text");
    assertThat(Files.readString(out.resolve("eval_metrics.txt"))).contains("of predictions: prediction-dir-text");
  }

  @Test
  void reportsAndCountsAMissingPredictionInsteadOfCrashing() throws IOException {
    Path c = fixture("scannet_mini");
    Path preds = tmp.resolve("prediction");
    TestFiles.copyTree(c.resolve("prediction"), preds);
    Files.delete(preds.resolve("scene0288_00/color/pred_000500.npy"));
    Path out = tmp.resolve("eval_metric");
    CliRun r = CliRun.of("eval", "depth", "--dataset-config", c.resolve("config.yaml").toString(), "--data-dir",
        c.resolve("data").toString(), "--predictions", preds.toString(), "--output", out.toString());
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.err()).contains("1 of 3 predictions missing").contains("scene0288_00/color/pred_000500.npy");
    List<String> csv = Files.readAllLines(out.resolve("per_sample_metrics.csv"));
    assertThat(csv).hasSize(3).noneMatch(l -> l.contains("pred_000500"));
    // the remaining two lines are the original's values for those samples
    List<String> expected = Files.readAllLines(c.resolve("expected/eval_metric/per_sample_metrics.csv"));
    assertThat(expected).containsAll(csv);
  }

  @Test
  void aMissingArchiveNamesTheFileAndTheExpectedLayout() {
    CliRun r = CliRun.of("eval", "depth", "--dataset", "nyu", "--data-dir", tmp.resolve("data").toString(),
        "--predictions", tmp.toString(), "--output", tmp.resolve("out").toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err().strip().lines()).hasSize(1);
    assertThat(r.err()).contains("nyu_labeled_extracted.tar not found")
        .contains("<data-dir>/kitti/kitti_eigen_split_test.tar").doesNotContain("Exception");
  }

  @Test
  void allDatasetsStartWithNyuAsTheOriginalScript() {
    CliRun r = CliRun.of("eval", "depth", "--dataset", "all", "--data-dir", tmp.resolve("data").toString(),
        "--predictions", tmp.toString(), "--output", tmp.resolve("out").toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains("nyuv2").contains("nyu_labeled_extracted.tar not found");
  }

  /**
   * {@code --checkpoint} runs the Marigold pipeline (here the tiny fixture checkpoint) into
   * {@code <output>/<dataset>/prediction}, writes {@code arguments.txt}, then evaluates; evaluating the saved
   * predictions again must give the same metrics file, byte for byte.
   */
  @Test
  void checkpointInferenceWritesPredictionsThenEvaluatesThem() throws IOException {
    Path c = fixture("scannet_mini");
    Path ckpt = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth");
    Path out = tmp.resolve("run");
    CliRun r = CliRun.of("eval", "depth", "--dataset-config", c.resolve("config.yaml").toString(), "--data-dir",
        c.resolve("data").toString(), "--checkpoint", ckpt.toString(), "--output", out.toString());
    assertThat(r.exitCode()).as(r.err()).isZero();
    Path metrics;
    try (var files = Files.walk(out)) {
      List<Path> all = files.filter(Files::isRegularFile).toList();
      assertThat(all).anyMatch(p -> p.getFileName().toString().equals("arguments.txt"));
      assertThat(all.stream().filter(p -> p.toString().endsWith(".npy")).count())
          .isEqualTo(Files.readAllLines(c.resolve("filename_list.txt")).stream().filter(l -> !l.isBlank()).count());
      metrics = all.stream().filter(p -> p.getFileName().toString().startsWith("eval_metrics-")).findFirst()
          .orElseThrow();
    }
    Path predictions;
    try (var dirs = Files.walk(out)) {
      predictions = dirs.filter(p -> p.getFileName().toString().equals("prediction")).findFirst().orElseThrow();
    }
    Path again = tmp.resolve("again");
    CliRun e = CliRun.of("eval", "depth", "--dataset-config", c.resolve("config.yaml").toString(), "--data-dir",
        c.resolve("data").toString(), "--predictions", predictions.toString(), "--output", again.toString());
    assertThat(e.exitCode()).as(e.err()).isZero();
    String text = Files.readString(metrics);
    assertThat(text).contains("abs_relative_difference").doesNotContain("nan");
    assertThat(Files.readString(again.resolve(metrics.getFileName())).lines().skip(1).toList())
        .as("metrics of the saved predictions").isEqualTo(text.lines().skip(1).toList());
  }

  /**
   * A diffusers Marigold v1.1 checkpoint is evaluated as prs-eth's v1.1 scripts do: 1 step, an ensemble of 10
   * (recorded in arguments.txt), one generator seeded with --seed for the run.
   */
  @Test
  void aV11CheckpointRunsWithPrsEthsV11Settings() throws IOException {
    Path c = fixture("scannet_mini");
    Path out = tmp.resolve("v11");
    CliRun r = CliRun.of("eval", "depth", "--dataset-config", c.resolve("config.yaml").toString(), "--data-dir",
        c.resolve("data").toString(), "--checkpoint",
        Golden.fixtures().resolve("checkpoints/tiny-marigold-v11-depth").toString(), "--output", out.toString());
    assertThat(r.exitCode()).as(r.err()).isZero();
    String args;
    try (var files = Files.walk(out)) {
      Path a = files.filter(p -> p.getFileName().toString().equals("arguments.txt")).findFirst().orElseThrow();
      args = Files.readString(a);
    }
    assertThat(args).contains("denoise_steps: 1").contains("ensemble_size: 10");
    try (var files = Files.walk(out)) {
      Path metrics = files.filter(p -> p.getFileName().toString().startsWith("eval_metrics-")).findFirst()
          .orElseThrow();
      assertThat(Files.readString(metrics)).contains("abs_relative_difference").doesNotContain("nan");
    }
  }

  /** A Lotus checkpoint is evaluated like E2E-FT's (one step, no ensemble), recorded under its own model type. */
  @Test
  void aLotusCheckpointIsEvaluatedWithItsOwnModelType() throws IOException {
    Path c = fixture("scannet_mini");
    Path out = tmp.resolve("lotus");
    CliRun r = CliRun.of("eval", "depth", "--dataset-config", c.resolve("config.yaml").toString(), "--data-dir",
        c.resolve("data").toString(), "--checkpoint",
        Golden.fixtures().resolve("checkpoints/tiny-lotus-depth-d").toString(), "--output", out.toString());
    assertThat(r.exitCode()).as(r.err()).isZero();
    try (var files = Files.walk(out)) {
      List<Path> all = files.filter(Files::isRegularFile).toList();
      Path a = all.stream().filter(p -> p.getFileName().toString().equals("arguments.txt")).findFirst().orElseThrow();
      assertThat(Files.readString(a)).contains("model_type: lotus").contains("ensemble_size: 1");
      Path metrics = all.stream().filter(p -> p.getFileName().toString().startsWith("eval_metrics-")).findFirst()
          .orElseThrow();
      assertThat(Files.readString(metrics)).contains("abs_relative_difference").doesNotContain("nan");
    }
  }

  @Test
  void userErrorsAreOneLine() {
    CliRun none = CliRun.of("eval", "depth", "--output", tmp.toString(), "--predictions", tmp.toString());
    assertThat(none.exitCode()).isEqualTo(2);
    assertThat(none.err()).contains("exactly one of --dataset NAME and --dataset-config FILE");
    CliRun bad = CliRun.of("eval", "depth", "--dataset", "middlebury", "--output", tmp.toString(), "--predictions",
        tmp.toString());
    assertThat(bad.err()).contains("unknown dataset 'middlebury'");
    CliRun align = CliRun.of("eval", "depth", "--dataset", "nyu", "--output", tmp.toString(), "--predictions",
        tmp.toString(), "--alignment", "median");
    assertThat(align.err()).contains("unknown alignment 'median'");
    CliRun yaml = CliRun.of("eval", "depth", "--dataset-config", tmp.resolve("nope.yaml").toString(), "--output",
        tmp.toString(), "--predictions", tmp.toString());
    assertThat(yaml.err()).contains("nope.yaml not found");
  }

  @Test
  void helpDescribesEveryOption() {
    CliRun r = CliRun.of("eval", "depth", "--help");
    assertThat(r.exitCode()).isZero();
    for (String opt : List.of("--dataset", "--dataset-config", "--data-dir", "--predictions", "--output",
        "--alignment", "--alignment-max-res", "--checkpoint", "--seed")) {
      assertThat(r.out()).contains(opt);
    }
    CommandLine.Model.CommandSpec spec = new CommandLine(new EvalDepthCommand()).getCommandSpec();
    spec.options().forEach(o -> assertThat(o.description()).as(o.longestName()).isNotEmpty());
  }

  @Test
  void checkpointRunsInferenceWithTheOriginalSettingsThenEvaluates() throws IOException {
    // a stand-in model that returns the original run's stored predictions, in dataset order
    Path c = fixture("kitti_full");
    List<Path> stored = List.of(
        c.resolve("prediction/2011_09_26/2011_09_26_drive_0002_sync/image_02/data/pred_0000000245.npy"),
        c.resolve("prediction/2011_09_28/2011_09_28_drive_0001_sync/image_02/data/pred_0000000233.npy"));
    List<String> seen = new ArrayList<>();
    DepthPredictor.Factory factory = checkpoint -> new DepthPredictor() {
      int next;

      @Override
      public DepthMap predict(BufferedImage rgb, InferenceSettings s) {
        seen.add(checkpoint + " " + rgb.getWidth() + "x" + rgb.getHeight() + " res=" + s.processingRes()
            + " seed=" + s.seed());
        float[] v = NpyTesting.readFloat32(stored.get(next++));
        return new DepthMap(rgb.getHeight(), rgb.getWidth(), v);
      }
    };
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new EvalDepthCommand(factory));
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    Path root = tmp.resolve("exp");
    int code = cl.execute("--dataset-config", c.resolve("config.yaml").toString(), "--data-dir",
        c.resolve("data").toString(), "--checkpoint", "my/ckpt", "--output", root.toString());
    assertThat(code).as(err.toString()).isZero();
    // the KITTI benchmark crop is applied before inference, as the original loader does
    assertThat(seen).containsExactly("my/ckpt 1216x352 res=0 seed=1234", "my/ckpt 1216x352 res=0 seed=1234");
    for (Path p : stored) {
      Path written = root.resolve("prediction").resolve(c.resolve("prediction").relativize(p).toString());
      assertThat(Files.readAllBytes(written)).as("np.save layout of " + written).isEqualTo(Files.readAllBytes(p));
    }
    assertThat(Files.readString(root.resolve("arguments.txt"))).isEqualTo(String.join("\n",
        "checkpoint: my/ckpt", "dataset_config: " + c.resolve("config.yaml"), "base_data_dir: " + c.resolve("data"),
        "output_dir: " + root + "/prediction", "denoise_steps: 1", "ensemble_size: 1", "half_precision: False",
        "processing_res: 0", "output_processing_res: False", "resample_method: bilinear", "noise: zeros",
        "timestep_spacing: trailing", "model_type: marigold", "domain: indoor", "seed: 1234"));
    assertThat(Files.readString(root.resolve("eval_metric/per_sample_metrics.csv")))
        .isEqualTo(Files.readString(c.resolve("expected/eval_metric/per_sample_metrics.csv")));
    assertThat(Files.readString(root.resolve("eval_metric/eval_metrics-least_square.txt"))).isEqualTo(
        expectedWithPredictionDir(c.resolve("expected/eval_metric/eval_metrics-least_square.txt"),
            root + "/prediction"));
  }

}
