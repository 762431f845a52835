package marigold4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import marigold4j.estimator.EvalPredictors;
import marigold4j.eval.depth.Alignment;
import marigold4j.eval.depth.DatasetConfig;
import marigold4j.eval.depth.DatasetPreset;
import marigold4j.eval.depth.DepthEvaluator;
import marigold4j.eval.depth.DepthInference;
import marigold4j.eval.depth.DepthMetrics;
import marigold4j.eval.depth.DepthPredictor;
import marigold4j.eval.depth.EvalDataset;
import marigold4j.eval.depth.InferenceSettings;
import marigold4j.eval.depth.PythonFormat;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code marigold4j eval depth}: Marigold's depth evaluation ({@code Marigold/eval.py}, and with {@code --checkpoint}
 * the inference of {@code infer.py} first) on NYUv2, KITTI, ETH3D, ScanNet and DIODE.
 */
@Command(name = "depth", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Evaluate depth predictions with Marigold's protocol; the files written are those of the original eval.py.",
        "Predictions are float32 .npy maps at <predictions>/<dirname of the RGB>/pred_<name>.npy (what infer.py "
            + "writes). With --dataset all, --predictions is the root holding <dataset>/prediction for each of "
            + "nyu_test, kitti_eigen_test, scannet, diode, eth3d, and results go to <output>/<dataset>/eval_metric."})
public final class EvalDepthCommand implements Callable<Integer> {
  @Option(names = "--dataset", paramLabel = "NAME",
      description = "Benchmark with the original settings: nyu, kitti, eth3d, scannet, diode, or all.")
  String dataset;

  @Option(names = "--dataset-config", paramLabel = "FILE",
      description = "An original dataset YAML (name, disp_name, dir, filenames, masks, crops) instead of --dataset; "
          + "its filename list is resolved against the current folder, then the YAML's folder.")
  Path datasetConfig;

  @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "data/marigold_eval",
      description = "Base folder of the dataset archives (default: ${DEFAULT-VALUE}).")
  String dataDir;

  @Option(names = "--predictions", paramLabel = "DIR",
      description = "Folder of the predictions to evaluate (not needed with --checkpoint).")
  String predictions;

  @Option(names = "--output", paramLabel = "DIR", required = true,
      description = "Where eval_metrics-<alignment>.txt and per_sample_metrics.csv are written "
          + "(with --checkpoint or --dataset all: <output>/<dataset>/{prediction,eval_metric,arguments.txt}).")
  String output;

  @Option(names = "--alignment", paramLabel = "MODE", defaultValue = "least_square",
      description = "least_square, least_square_disparity or none (default: ${DEFAULT-VALUE}, as every original "
          + "evaluation script).")
  String alignment;

  @Option(names = "--alignment-max-res", paramLabel = "N",
      description = "Fit the alignment on a grid subsampled to this resolution (default: 1024 for eth3d as the "
          + "original script, otherwise full resolution).")
  Integer alignmentMaxRes;

  @Option(names = "--checkpoint", paramLabel = "ID",
      description = "Run inference with this checkpoint first (settings of experiments/depth/eval_args: seed 1234, "
          + "native resolution for nyu/kitti/scannet, 756 for eth3d, 640 for diode).")
  String checkpoint;

  @Option(names = "--device", paramLabel = "cpu|cuda|cuda:N", defaultValue = "cpu",
      description = "Where inference runs with --checkpoint. Default: ${DEFAULT-VALUE}.")
  String device;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "1234",
      description = "Inference seed with --checkpoint (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--denoise-steps", paramLabel = "N",
      description = "Denoising steps with --checkpoint (default: 1, as E2E-FT's and prs-eth's v1.1 scripts).")
  Integer denoiseSteps;

  @Option(names = "--ensemble-size", paramLabel = "N",
      description = "Ensemble size with --checkpoint (default: 1 for E2E-FT / Marigold checkpoints, 10 for "
          + "diffusers' Marigold v1.1 checkpoints, as prs-eth's v1.1 evaluation scripts).")
  Integer ensembleSize;

  /** The inference settings of every job (the family's evaluation defaults and the options). */
  private InferenceSettings base;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  private final DepthPredictor.Factory predictors;

  /** The command as registered in {@link Main}: {@code --checkpoint} runs the Marigold pipeline. */
  public EvalDepthCommand() {
    this(null);
  }

  /** With another inference pipeline for {@code --checkpoint} (tests). */
  public EvalDepthCommand(DepthPredictor.Factory predictors) {
    this.predictors = predictors;
  }

  /** One dataset to evaluate: where its config, predictions and results are. */
  private record Job(String label, DatasetConfig config, String configText, InferenceSettings settings,
      Integer maxRes, String predictionDir, String evalDir, String argumentsDir) {}

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if ((dataset == null) == (datasetConfig == null)) {
      throw new IllegalArgumentException("give exactly one of --dataset NAME and --dataset-config FILE");
    }
    if (checkpoint == null && predictions == null) {
      throw new IllegalArgumentException("give --predictions DIR (or --checkpoint ID to run inference first)");
    }
    if (alignmentMaxRes != null && alignmentMaxRes <= 0) {
      throw new IllegalArgumentException("--alignment-max-res must be positive, not " + alignmentMaxRes);
    }
    Alignment align = Alignment.parse(alignment);
    Path cwd = Path.of("").toAbsolutePath();

    if (denoiseSteps != null && denoiseSteps < 1) {
      throw new IllegalArgumentException("--denoise-steps must be 1 or more, got " + denoiseSteps);
    }
    if (ensembleSize != null && ensembleSize < 1) {
      throw new IllegalArgumentException("--ensemble-size must be 1 or more, got " + ensembleSize);
    }
    base = InferenceSettings.defaults().withSeed(seed);
    if (checkpoint != null && predictors == null) base = EvalPredictors.evalDefaults(checkpoint, base);
    base = base.withInference(denoiseSteps != null ? denoiseSteps : base.denoiseSteps(),
        ensembleSize != null ? ensembleSize : base.ensembleSize(), base.modelType());
    List<Job> jobs = jobs();
    InferenceSettings first = base;
    DepthPredictor.Factory factory = predictors != null ? predictors
        : ckpt -> EvalPredictors.depth(ckpt, first, device);
    DepthPredictor predictor = checkpoint == null ? null : factory.open(checkpoint);
    List<DepthEvaluator.Result> results = new ArrayList<>();
    try {
      for (Job job : jobs) {
        try (EvalDataset ds = EvalDataset.open(job.config(), Path.of(dataDir), cwd)) {
          if (predictor != null) {
            Path argsFile = DepthInference.writeArguments(Path.of(job.argumentsDir()), job.settings().argumentsText(
                checkpoint, job.configText(), dataDir, job.predictionDir()));
            err.println("Arguments saved in " + argsFile);
            DepthInference.run(ds, predictor, job.settings(), Path.of(job.predictionDir()), Progress.forEval(err));
          }
          DepthEvaluator.Result r = DepthEvaluator.evaluate(ds, Path.of(job.predictionDir()), job.predictionDir(),
              new DepthEvaluator.Options(align, job.maxRes()), Path.of(job.evalDir()), Progress.forEval(err));
          results.add(r);
          out.println(r.metricsText());
          out.println("Evaluation metrics saved to " + r.metricsFile());
          if (!r.missingPredictions().isEmpty()) {
            err.println("warning: " + r.missingPredictions().size() + " of " + ds.size() + " predictions missing in "
                + job.predictionDir() + " (first: " + r.missingPredictions().get(0) + "); those samples are "
                + "not in the averages");
          }
        }
      }
    } finally {
      if (predictor != null) predictor.close();
    }
    if (jobs.size() > 1) {
      String table = summary(jobs, results);
      out.println();
      out.println(table);
      Path file = Path.of(output).resolve("summary-" + align + ".txt");
      try {
        Files.writeString(file, table + "\n");
      } catch (IOException e) {
        throw new UncheckedIOException("writing " + file + ": " + e.getMessage(), e);
      }
      out.println("Summary saved to " + file);
    }
    return 0;
  }

  private List<Job> jobs() {
    List<Job> jobs = new ArrayList<>();
    if (datasetConfig != null) {
      DatasetConfig cfg = DatasetConfig.read(datasetConfig);
      InferenceSettings s = base;
      String root = output;
      jobs.add(checkpoint == null
          ? new Job(cfg.dispName(), cfg, datasetConfig.toString(), s, alignmentMaxRes, predictions, output, null)
          : new Job(cfg.dispName(), cfg, datasetConfig.toString(), s, alignmentMaxRes, join(root, "prediction"),
              join(root, "eval_metric"), root));
      return jobs;
    }
    boolean all = dataset.trim().toLowerCase(Locale.ROOT).equals("all");
    List<DatasetPreset> presets = all ? List.of(DatasetPreset.values()) : List.of(DatasetPreset.parse(dataset));
    for (DatasetPreset p : presets) {
      InferenceSettings s = base.withProcessingRes(p.processingRes());
      Integer maxRes = alignmentMaxRes != null ? alignmentMaxRes : p.alignmentMaxRes();
      String root = join(output, p.outputName());
      String predDir;
      String evalDir;
      if (checkpoint != null) {
        predDir = join(root, "prediction");
        evalDir = join(root, "eval_metric");
      } else if (all) {
        predDir = join(join(predictions, p.outputName()), "prediction");
        evalDir = join(root, "eval_metric");
      } else {
        predDir = predictions;
        evalDir = output;
      }
      jobs.add(new Job(p.key(), p.config(), p.configPath(), s, maxRes, predDir, evalDir, root));
    }
    return jobs;
  }

  /** {@code os.path.join} of two parts, so printed paths look as the original scripts' do. */
  private static String join(String a, String b) {
    return a.isEmpty() || a.endsWith("/") ? a + b : a + "/" + b;
  }

  private static String summary(List<Job> jobs, List<DepthEvaluator.Result> results) {
    List<String> header = new ArrayList<>(List.of("dataset", "samples", "missing"));
    header.addAll(DepthMetrics.NAMES);
    List<List<String>> rows = new ArrayList<>();
    rows.add(header);
    for (int i = 0; i < results.size(); i++) {
      DepthEvaluator.Result r = results.get(i);
      List<String> row = new ArrayList<>(List.of(jobs.get(i).label(), Integer.toString(r.samples().size()),
          Integer.toString(r.missingPredictions().size())));
      for (Map.Entry<String, Double> e : r.means().entrySet()) {
        row.add(String.format(Locale.ROOT, "%.4f", e.getValue()));
      }
      rows.add(row);
    }
    return PythonFormat.tabulateSimple(rows);
  }
}
