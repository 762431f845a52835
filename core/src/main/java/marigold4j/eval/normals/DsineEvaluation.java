package marigold4j.eval.normals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import marigold4j.image.Npy;
import marigold4j.torch.Engine;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The DSINE surface-normal benchmark ({@code DSINE/projects/dsine/test.py}, {@code --mode benchmark}): for every
 * sample of a dataset's split, in split order, the prediction is compared with the ground truth; the angular errors at
 * the ground-truth mask are pooled over the whole dataset (pixel-pooled, not averaged per image) and summarised by
 * {@link NormalMetrics}.
 *
 * <p>Output layout (that of the original under its {@code output_dir}, e.g.
 * {@code experiments/normals/dsine/<exp_name>/<exp_id>}): {@code test/<dataset>/metrics.txt} and
 * {@code log/params.txt}.
 */
public final class DsineEvaluation {
  private static final Logger LOG = LoggerFactory.getLogger(DsineEvaluation.class);

  private DsineEvaluation() {}

  /** Where the predicted normals of a sample come from. */
  public interface PredictionSource {
    /** The frame of the returned normals; the evaluation converts them to {@link NormalFrame#DATASET}. */
    NormalFrame frame();

    /** The prediction for {@code sample}, at the size of its image. */
    NormalMap predict(DsineSample sample);
  }

  /** Progress callback, called after each sample. */
  @FunctionalInterface
  public interface Listener {
    void sampleDone(DsineSample sample, int done, int total);
  }

  /** The outcome for one dataset. */
  public record DatasetResult(DsineDataset dataset, int iterations, float[] pooledErrors, NormalMetrics metrics) {
    /** The text of {@code metrics.txt}. */
    public String metricsText() {
      return metrics.metricsText(iterations);
    }
  }

  /**
   * Saved predictions under {@code dir}: {@link DsineSample#predictionRelativePath()}, i.e.
   * {@code <dir>/<dataset>/<scene>/<name>_pred.npy}, float32 {@code [3, H, W]} as the Marigold CLI writes its
   * {@code normal_npy} files ({@code [1, 3, H, W]} and GeoWizard's {@code [H, W, 3]} are accepted too), with
   * components in {@code frame}.
   */
  public static PredictionSource savedPredictions(Path dir, NormalFrame frame) {
    return new PredictionSource() {
      @Override
      public NormalFrame frame() {
        return frame;
      }

      @Override
      public NormalMap predict(DsineSample sample) {
        return readPrediction(dir.resolve(sample.predictionRelativePath()));
      }
    };
  }

  /**
   * Runs {@code predictor} on each sample's image after the benchmark's input preparation
   * ({@link DsineInput#forModel}); each call runs without autograd and inside its own {@link PointerScope}.
   */
  public static PredictionSource model(NormalsPredictor predictor) {
    return new PredictionSource() {
      @Override
      public NormalFrame frame() {
        return predictor.frame();
      }

      @Override
      public NormalMap predict(DsineSample sample) {
        Rgb8Image input = DsineInput.forModel(DsineLoader.readImage(sample.imagePath()));
        Engine.init();
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
          return predictor.predict(input);
        }
      }
    };
  }

  /** Paths of the saved predictions that are missing for {@code samples} (empty when all exist). */
  public static List<Path> missingPredictions(List<DsineSample> samples, Path dir) {
    List<Path> missing = new ArrayList<>();
    for (DsineSample s : samples) {
      Path p = dir.resolve(s.predictionRelativePath());
      if (!Files.isRegularFile(p)) missing.add(p);
    }
    return missing;
  }

  /** Evaluates one dataset's samples (all of the same dataset) in order. */
  public static DatasetResult evaluate(List<DsineSample> samples, PredictionSource source, Listener listener) {
    if (samples.isEmpty()) throw new IllegalArgumentException("no samples to evaluate");
    DsineDataset dataset = samples.get(0).dataset();
    FloatList pooled = new FloatList();
    int done = 0;
    for (DsineSample s : samples) {
      NormalsGroundTruth gt = DsineLoader.groundTruth(s);
      NormalMap pred = toDatasetFrame(source.predict(s), source.frame());
      if (pred.height() != gt.normals().height() || pred.width() != gt.normals().width()) {
        throw new IllegalArgumentException(s.predictionRelativePath() + ": prediction is " + pred.height() + "x"
            + pred.width() + " but the ground truth of " + s.relativePath() + " is " + gt.normals().height() + "x"
            + gt.normals().width());
      }
      float[] err = NormalErrors.angularErrorDegrees(pred, gt.normals());
      boolean[] mask = gt.mask();
      for (int i = 0; i < err.length; i++) if (mask[i]) pooled.add(err[i]);
      done++;
      if (listener != null) listener.sampleDone(s, done, samples.size());
    }
    float[] errors = pooled.toArray();
    NormalMetrics metrics = NormalMetrics.of(errors, errors.length);
    LOG.info("{}: {} images, {} pixels: {}", dataset.id(), done, errors.length, metrics.valuesLine());
    return new DatasetResult(dataset, done, errors, metrics);
  }

  /**
   * The one place where predicted normals change frame: from the model's output frame to the DSINE ground-truth
   * frame (the identity for the seed's checkpoints, see {@link NormalFrame}).
   */
  public static NormalMap toDatasetFrame(NormalMap prediction, NormalFrame modelFrame) {
    return modelFrame.convert(prediction, NormalFrame.DATASET);
  }

  /** Writes {@code <outputDir>/test/<dataset>/metrics.txt} and returns its path. */
  public static Path writeMetrics(DatasetResult result, Path outputDir) {
    return write(outputDir.resolve("test").resolve(result.dataset().id()).resolve("metrics.txt"),
        result.metricsText());
  }

  /** Writes {@code <outputDir>/log/params.txt} and returns its path. */
  public static Path writeParams(DsineEvalSettings settings, Path outputDir) {
    return write(outputDir.resolve("log").resolve("params.txt"), settings.paramsText());
  }

  private static Path write(Path file, String text) {
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(file, text, StandardCharsets.UTF_8);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot write: " + e.getMessage(), e);
    }
  }

  /** Reads a saved prediction: {@code [3, H, W]}, {@code [1, 3, H, W]} or {@code [H, W, 3]} float32 / float64. */
  static NormalMap readPrediction(Path file) {
    Npy.Array a = Npy.read(file);
    long[] s = a.shape();
    if (s.length == 4 && s[0] == 1) s = new long[] {s[1], s[2], s[3]};
    if (s.length != 3 || (s[0] != 3 && s[2] != 3)) {
      throw new IllegalArgumentException(file + ": prediction has shape " + java.util.Arrays.toString(a.shape())
          + ", expected [3, H, W]");
    }
    float[] v = a.toFloats();
    if (s[0] == 3) return new NormalMap((int) s[1], (int) s[2], v);
    int h = (int) s[0];
    int w = (int) s[1];
    float[] chw = new float[v.length];
    for (int p = 0; p < h * w; p++) {
      for (int c = 0; c < 3; c++) chw[c * h * w + p] = v[p * 3 + c];
    }
    return new NormalMap(h, w, chw);
  }

  /** A growable float array (errors are pooled over a whole dataset). */
  private static final class FloatList {
    private float[] data = new float[1 << 16];
    private int size;

    void add(float v) {
      if (size == data.length) data = java.util.Arrays.copyOf(data, data.length * 2);
      data[size++] = v;
    }

    float[] toArray() {
      return java.util.Arrays.copyOf(data, size);
    }
  }
}
