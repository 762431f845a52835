package marigold4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import marigold4j.estimator.EvalPredictors;
import marigold4j.eval.normals.DsineDataset;
import marigold4j.eval.normals.DsineEvalSettings;
import marigold4j.eval.normals.DsineEvaluation;
import marigold4j.eval.normals.DsineSample;
import marigold4j.eval.normals.NormalFrame;
import marigold4j.eval.normals.NormalsPredictor;
import marigold4j.pipeline.NoiseType;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code marigold4j eval normals}: the DSINE surface-normal benchmark ({@code DSINE/projects/dsine/test.py
 * --mode benchmark}) on saved predictions or by running a checkpoint. Standalone so that it can be registered under
 * the {@code eval} parent command.
 */
@Command(name = "normals", mixinStandardHelpOptions = true,
    description = {"Evaluate surface normals with the DSINE protocol (NYUv2, ScanNet, iBims-1, Sintel; OASIS and "
        + "Virtual KITTI on request): pixel-pooled angular error, mean / median / rmse and the 5, 7.5, 11.25, 22.5 "
        + "and 30 degree accuracies.",
        "Writes <output>/test/<dataset>/metrics.txt and <output>/log/params.txt as the original does."})
public final class EvalNormalsCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--checkpoint", paramLabel = "ID_OR_DIR",
      description = {"Model to run (Hub id or local diffusers folder), with the E2E settings below.",
          "Together with --predictions it is only recorded in params.txt as the model that made them."})
  String checkpoint;

  @Option(names = "--predictions", paramLabel = "DIR",
      description = "Evaluate saved predictions instead of running a model: "
          + "DIR/<dataset>/<scene>/<name>_pred.npy, float32 [3,H,W] (a Marigold normal_npy file; [H,W,3] accepted).")
  Path predictions;

  @Option(names = "--data-dir", paramLabel = "DIR", required = true,
      description = "The dsine_eval folder: <DIR>/<dataset>/<scene>/<name>_img.png|jpg, _normal.*, _intrins.npy.")
  Path dataDir;

  @Option(names = "--split-dir", paramLabel = "DIR",
      description = "Folder with <dataset>/split/<split>.txt (DSINE/data/datasets of the original repository). "
          + "Default: <data-dir>/../../DSINE/data/datasets, the original layout (data/dsine_eval next to DSINE/).")
  Path splitDir;

  @Option(names = "--output", paramLabel = "DIR", required = true,
      description = "Output folder (the original's experiments/normals/dsine/<exp_name>/<exp_id>).")
  Path output;

  @Option(names = "--datasets", paramLabel = "all|LIST", defaultValue = "all",
      description = "'all' (nyuv2, scannet, ibims, sintel, as the original) or a comma-separated list of nyuv2, "
          + "scannet, ibims, sintel, oasis, vkitti. Default: ${DEFAULT-VALUE}.")
  String datasets;

  @Option(names = "--prediction-frame", paramLabel = "FRAME", defaultValue = "lub",
      description = "Frame of the saved predictions' components: lub (x left, y up, z towards the viewer: the "
          + "Marigold / E2E-FT output and DSINE's frame), rub or rdf. Default: ${DEFAULT-VALUE}.")
  String predictionFrame;

  @Option(names = "--denoise-steps", defaultValue = "1", description = "DDIM steps. Default: ${DEFAULT-VALUE}.")
  int denoiseSteps;

  @Option(names = "--ensemble-size", defaultValue = "1", description = "Ensemble members. Default: ${DEFAULT-VALUE}.")
  int ensembleSize;

  @Option(names = "--processing-res", defaultValue = "0",
      description = "Processing resolution, 0 = the input resolution (the benchmark). Default: ${DEFAULT-VALUE}.")
  int processingRes;

  @Option(names = "--resample-method", defaultValue = "bilinear",
      description = "bilinear, bicubic or nearest. Default: ${DEFAULT-VALUE}.")
  String resampleMethod;

  @Option(names = "--noise", defaultValue = "zeros",
      description = "Initial latent: zeros (E2E), gaussian or pyramid. Default: ${DEFAULT-VALUE}.")
  String noise;

  @Option(names = "--timestep-spacing", defaultValue = "trailing",
      description = "trailing, leading or linspace. Default: ${DEFAULT-VALUE}.")
  String timestepSpacing;

  @Option(names = "--seed", defaultValue = "1234", description = "Random seed. Default: ${DEFAULT-VALUE}.")
  Integer seed;

  @Option(names = "--device", paramLabel = "cpu|cuda|cuda:N", defaultValue = "cpu",
      description = "Where inference runs with --checkpoint. Default: ${DEFAULT-VALUE}.")
  String device;

  @Option(names = "--exp-name", defaultValue = "Marigold",
      description = "Experiment name recorded in params.txt. Default: ${DEFAULT-VALUE}.")
  String expName;

  @Option(names = "--exp-id", defaultValue = "Marigold-E2E-FT",
      description = "Experiment id recorded in params.txt. Default: ${DEFAULT-VALUE}.")
  String expId;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    List<DsineDataset> selected = DsineDataset.parseList(datasets);
    NormalFrame frame = frame(predictionFrame);
    if (predictions == null && checkpoint == null) {
      throw new IllegalArgumentException("give --predictions DIR (saved predictions) or --checkpoint ID_OR_DIR");
    }
    if (!Files.isDirectory(dataDir)) throw new IllegalArgumentException(dataDir + ": data folder not found");
    if (predictions != null && !Files.isDirectory(predictions)) {
      throw new IllegalArgumentException(predictions + ": predictions folder not found");
    }
    Path splits = splitDir != null ? splitDir : dataDir.toAbsolutePath().normalize().resolve("../../DSINE/data/datasets")
        .normalize();
    DsineEvalSettings settings = new DsineEvalSettings(checkpoint, denoiseSteps, ensembleSize, processingRes,
        resampleMethod, NoiseType.parse(noise), TimestepSpacing.parse(timestepSpacing), predictions != null ? "marigold" : modelTypeOf(checkpoint), datasets,
        null, seed, expName, expId);

    // read every split and check every prediction before any work, so that mistakes surface at once
    List<List<DsineSample>> samples = selected.stream().map(d -> d.samples(dataDir, splits)).toList();
    if (predictions != null) {
      for (List<DsineSample> s : samples) {
        List<Path> missing = DsineEvaluation.missingPredictions(s, predictions);
        if (!missing.isEmpty()) {
          throw new IllegalArgumentException(missing.get(0) + ": prediction not found (" + missing.size() + " of "
              + s.size() + " missing for " + s.get(0).dataset().id() + ")");
        }
      }
    }
    DsineEvaluation.writeParams(settings, output);

    NormalsPredictor predictor = null;
    DsineEvaluation.PredictionSource source;
    if (predictions != null) {
      source = DsineEvaluation.savedPredictions(predictions, frame);
    } else {
      try {
        predictor = EvalPredictors.normals(settings, device);
      } catch (UnsupportedOperationException e) {
        spec.commandLine().getErr().println("error: " + e.getMessage());
        return 2;
      }
      source = DsineEvaluation.model(predictor);
    }
    try {
      for (List<DsineSample> s : samples) {
        DsineEvaluation.DatasetResult r = evaluate(s, source, out);
        Path written = DsineEvaluation.writeMetrics(r, output);
        out.println();
        out.println(marigold4j.eval.normals.NormalMetrics.HEADER);
        out.println(r.metrics().valuesLine());
        out.println("Metrics saved to " + written);
      }
    } finally {
      if (predictor != null) predictor.close();
    }
    out.flush();
    return 0;
  }

  private static DsineEvaluation.DatasetResult evaluate(List<DsineSample> s, DsineEvaluation.PredictionSource source,
      PrintWriter out) {
    String id = s.get(0).dataset().id();
    try (Progress progress = Progress.start(id, s.size(), out)) {
      return DsineEvaluation.evaluate(s, source, (sample, done, total) -> progress.step(sample.relativePath()));
    }
  }

  private static NormalFrame frame(String name) {
    try {
      return NormalFrame.valueOf(name.strip().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown --prediction-frame '" + name + "' (lub, rub or rdf)");
    }
  }

  /** {@code model_type} as params.txt records it: the checkpoint's family ({@code marigold} without a checkpoint). */
  private static String modelTypeOf(String checkpoint) {
    return checkpoint == null ? "marigold" : marigold4j.estimator.EvalPredictors.familyName(checkpoint);
  }
}
