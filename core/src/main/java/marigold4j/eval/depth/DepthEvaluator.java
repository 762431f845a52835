package marigold4j.eval.depth;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import marigold4j.image.Npy;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Marigold's {@code eval.py}: for every sample, load the prediction, align it to the ground truth, clip it to the
 * dataset's depth range and to {@code >= 1e-6}, compute the ten metrics; average them per image; write
 * {@code per_sample_metrics.csv} and {@code eval_metrics[-<alignment>].txt} with the original's exact text.
 *
 * <p>One deliberate difference: a missing prediction is logged, counted and skipped (the original crashes on it).
 */
public final class DepthEvaluator {
  private static final Logger LOG = LoggerFactory.getLogger(DepthEvaluator.class);
  /** Name of the per-sample file, as the original writes it. */
  public static final String PER_SAMPLE_FILE = "per_sample_metrics.csv";

  /**
   * Evaluation settings.
   *
   * @param alignment how predictions are aligned
   * @param alignmentMaxRes the original's {@code --alignment_max_res}, or {@code null}
   */
  public record Options(Alignment alignment, Integer alignmentMaxRes) {}

  /**
   * One evaluated sample.
   *
   * @param predictionPath the prediction relative to the prediction folder (the CSV's first column)
   * @param metrics the ten metrics in {@link DepthMetrics#NAMES} order (float32 values)
   * @param fit the alignment's scale and shift, or {@code null} without alignment
   * @param validPixels number of valid GT pixels
   */
  public record SampleResult(String predictionPath, double[] metrics, LeastSquaresAlignment.Fit fit,
      long validPixels) {}

  /**
   * The outcome of one evaluation.
   *
   * @param means the per-image averages, keyed by metric name (insertion order = {@link DepthMetrics#NAMES})
   * @param missingPredictions prediction files that did not exist (relative paths); those samples were skipped
   * @param metricsText the text written to {@code metricsFile}
   */
  public record Result(String datasetName, List<SampleResult> samples, List<String> missingPredictions,
      Map<String, Double> means, String metricsText, Path metricsFile, Path perSampleFile) {}

  private DepthEvaluator() {}

  /**
   * Evaluates the predictions under {@code predictionDir} on {@code dataset} and writes the two result files into
   * {@code outputDir}.
   *
   * @param predictionDirText the prediction folder as the user gave it (printed in the metrics file)
   */
  public static Result evaluate(EvalDataset dataset, Path predictionDir, String predictionDirText, Options options,
      Path outputDir, EvalProgress progress) {
    Engine.init();
    DatasetConfig cfg = dataset.config();
    List<SampleResult> samples = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    double[] totals = new double[DepthMetrics.NAMES.size()];
    Path csv = outputDir.resolve(PER_SAMPLE_FILE);
    try {
      Files.createDirectories(outputDir);
      try (BufferedWriter out = Files.newBufferedWriter(csv, StandardCharsets.UTF_8)) {
        out.write("filename," + String.join(",", DepthMetrics.NAMES) + "\n");
        progress.start(cfg.dispName(), dataset.size());
        for (int i = 0; i < dataset.size(); i++) {
          String predName = dataset.predictionPath(i);
          EvalDataset.DepthGroundTruth gt = dataset.groundTruth(i);
          Path predPath = predictionDir.resolve(predName);
          if (!Files.isRegularFile(predPath)) {
            LOG.warn("Can't find prediction: {}", predPath);
            missing.add(predName);
            progress.step();
            continue;
          }
          SampleResult r = evaluateSample(gt, readPrediction(predPath, gt), predName, cfg, options);
          samples.add(r);
          for (int k = 0; k < totals.length; k++) totals[k] += r.metrics()[k];
          StringBuilder line = new StringBuilder(predName);
          for (double m : r.metrics()) line.append(',').append(PythonFormat.repr(m));
          out.write(line.append('\n').toString());
          out.flush();
          progress.step();
        }
        progress.finish();
      }
      Map<String, Double> means = new LinkedHashMap<>();
      for (int k = 0; k < totals.length; k++) {
        means.put(DepthMetrics.NAMES.get(k), samples.isEmpty() ? Double.NaN : totals[k] / samples.size());
      }
      String text = metricsText(cfg, predictionDirText, samples.isEmpty() ? null : means);
      Path metricsFile = outputDir.resolve(options.alignment().metricsFileName());
      Files.writeString(metricsFile, text, StandardCharsets.UTF_8);
      if (!missing.isEmpty()) {
        LOG.warn("{} of {} predictions missing in {}", missing.size(), dataset.size(), predictionDir);
      }
      return new Result(cfg.dispName(), samples, missing, means, text, metricsFile, csv);
    } catch (IOException e) {
      throw new UncheckedIOException("writing results to " + outputDir + ": " + e.getMessage(), e);
    }
  }

  /**
   * The prediction the metrics see: aligned as {@code options} says, clipped to the dataset's depth range and to
   * {@code >= 1e-6}.
   *
   * @param depth float32 {@code [H, W]} metric depth
   * @param fit the alignment's scale and shift, {@code null} without alignment
   */
  public record Aligned(float[] depth, LeastSquaresAlignment.Fit fit) {}

  /**
   * Aligns and clips one prediction (the first half of the original's loop body).
   *
   * @param prediction float32 {@code [H, W]} (the GT's shape)
   */
  public static Aligned finalPrediction(EvalDataset.DepthGroundTruth gt, float[] prediction, DatasetConfig cfg,
      Options options) {
    float[] depth;
    LeastSquaresAlignment.Fit fit = null;
    switch (options.alignment()) {
      case LEAST_SQUARE -> {
        fit = LeastSquaresAlignment.fit(gt.depth(), prediction, gt.valid(), gt.height(), gt.width(),
            options.alignmentMaxRes());
        depth = LeastSquaresAlignment.apply(prediction, fit);
      }
      case LEAST_SQUARE_DISPARITY -> {
        float[] gtDisparity = LeastSquaresAlignment.inverseWherePositive(gt.depth());
        boolean[] lsMask = new boolean[prediction.length];
        for (int i = 0; i < lsMask.length; i++) {
          lsMask[i] = gt.valid()[i] && gt.depth()[i] > 0 && prediction[i] > 0;
        }
        // the prediction is used as disparity as it is, without inversion (as in the original)
        fit = LeastSquaresAlignment.fit(gtDisparity, prediction, lsMask, gt.height(), gt.width(),
            options.alignmentMaxRes());
        float[] disparity = LeastSquaresAlignment.apply(prediction, fit);
        for (int i = 0; i < disparity.length; i++) disparity[i] = clipBelow(disparity[i], 1e-3f);
        depth = LeastSquaresAlignment.inverseWherePositive(disparity);
      }
      default -> depth = prediction.clone();
    }
    float lo = (float) cfg.minDepth();
    float hi = (float) cfg.maxDepth();
    for (int i = 0; i < depth.length; i++) {
      // np.clip(x, min, max) then np.clip(x, 1e-6, None), in float32; NaN stays NaN
      float v = depth[i];
      if (!Float.isNaN(v)) v = Math.min(Math.max(v, lo), hi);
      depth[i] = clipBelow(v, 1e-6f);
    }
    return new Aligned(depth, fit);
  }

  /**
   * Aligns, clips and scores one sample (the body of the original's loop). Opens its own {@link PointerScope}
   * and runs without autograd: nothing native outlives the call.
   *
   * @param prediction float32 {@code [H, W]} (the GT's shape)
   */
  @SuppressWarnings("try") // the scope and the guard act by existing
  public static SampleResult evaluateSample(EvalDataset.DepthGroundTruth gt, float[] prediction, String predName,
      DatasetConfig cfg, Options options) {
    Aligned aligned = finalPrediction(gt, prediction, cfg, options);
    double[] metrics;
    try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
      Tensor p = Tensors.fromFloats(aligned.depth(), gt.height(), gt.width());
      Tensor g = Tensors.fromFloats(gt.depth(), gt.height(), gt.width());
      Tensor m = boolTensor(gt.valid(), gt.height(), gt.width());
      metrics = DepthMetrics.all(p, g, m);
    }
    return new SampleResult(predName, metrics, aligned.fit(), gt.validCount());
  }

  private static float clipBelow(float v, float lo) {
    return Float.isNaN(v) ? v : Math.max(v, lo);
  }

  /** Reads a prediction {@code .npy}; its squeezed shape must be the GT's {@code [H, W]}. */
  static float[] readPrediction(Path file, EvalDataset.DepthGroundTruth gt) {
    Npy.Array a = Npy.read(file);
    if (!Arrays.equals(a.squeezedShape(), new long[] {gt.height(), gt.width()})) {
      throw new IllegalArgumentException("prediction " + file + " has shape " + Arrays.toString(a.shape())
          + "; the ground truth of " + gt.rgbRelativePath() + " is [" + gt.height() + ", " + gt.width() + "]");
    }
    if (a.dtype() != Npy.DType.F4) {
      LOG.warn("prediction {} is {}, not float32: converted to float32", file, a.dtype().descr());
    }
    return a.toFloats();
  }

  /**
   * The metrics file text: header lines, then the table of names and means as {@code tabulate} prints it.
   *
   * @param means the averages, or {@code null} when no sample was evaluated (the original then prints {@code 0})
   */
  public static String metricsText(DatasetConfig cfg, String predictionDirText, Map<String, Double> means) {
    StringBuilder s = new StringBuilder();
    s.append("Evaluation metrics:\n");
    s.append("    of predictions: ").append(predictionDirText).append('\n');
    s.append("    on dataset: ").append(cfg.dispName()).append('\n');
    s.append("    with samples in: ").append(cfg.filenames()).append('\n');
    s.append("min_depth = ").append(cfg.minDepthText()).append('\n');
    s.append("max_depth = ").append(cfg.maxDepthText()).append('\n');
    List<String> values = new ArrayList<>();
    for (String name : DepthMetrics.NAMES) values.add(means == null ? "0" : PythonFormat.repr(means.get(name)));
    s.append(PythonFormat.tabulateSimple(List.of(DepthMetrics.NAMES, values)));
    return s.toString();
  }

  private static Tensor boolTensor(boolean[] mask, int height, int width) {
    byte[] bytes = new byte[mask.length];
    for (int i = 0; i < mask.length; i++) bytes[i] = (byte) (mask[i] ? 1 : 0);
    return Tensors.fromBoolBytes(bytes, height, width);
  }
}
