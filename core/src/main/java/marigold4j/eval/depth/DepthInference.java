package marigold4j.eval.depth;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import marigold4j.image.Npy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inference half of the original's evaluation ({@code Marigold/infer.py}): predicts every sample of a dataset
 * and saves each map as float32 {@code .npy} under {@code <prediction dir>/<dirname(rgb)>/<pred name>.npy}, the
 * layout {@link DepthEvaluator} reads.
 */
public final class DepthInference {
  private static final Logger LOG = LoggerFactory.getLogger(DepthInference.class);
  /** Written next to the prediction folder, as {@code infer.py} does. */
  public static final String ARGUMENTS_FILE = "arguments.txt";

  private DepthInference() {}

  /**
   * Runs {@code predictor} on every sample of {@code dataset}.
   *
   * @return number of predictions written
   */
  public static int run(EvalDataset dataset, DepthPredictor predictor, InferenceSettings settings,
      Path predictionDir, EvalProgress progress) {
    progress.start("Inferencing on " + dataset.config().dispName(), dataset.size());
    int written = 0;
    for (int i = 0; i < dataset.size(); i++) {
      var rgb = dataset.rgb(i);
      DepthPredictor.DepthMap map = predictor.predict(rgb, settings);
      if (!settings.outputProcessingRes() && (map.height() != rgb.getHeight() || map.width() != rgb.getWidth())) {
        throw new IllegalStateException("predictor returned " + map.height() + "x" + map.width() + " for a "
            + rgb.getHeight() + "x" + rgb.getWidth() + " image (" + dataset.rgbRelativePath(i) + ")");
      }
      Path file = predictionDir.resolve(dataset.predictionPath(i));
      try {
        Files.createDirectories(file.getParent());
        if (Files.exists(file)) LOG.warn("Existing file: '{}' will be overwritten", file);
        try (OutputStream out = Files.newOutputStream(file)) {
          Npy.write(out, Npy.Array.ofFloats(map.values(), map.height(), map.width()));
        }
      } catch (IOException e) {
        throw new UncheckedIOException("writing prediction " + file + ": " + e.getMessage(), e);
      }
      written++;
      progress.step();
    }
    progress.finish();
    return written;
  }

  /** Writes {@code text} (see {@link InferenceSettings#argumentsText}) to {@code <dir>/arguments.txt}. */
  public static Path writeArguments(Path dir, String text) {
    Path file = dir.resolve(ARGUMENTS_FILE);
    try {
      Files.createDirectories(dir);
      Files.writeString(file, text);
    } catch (IOException e) {
      throw new UncheckedIOException("writing " + file + ": " + e.getMessage(), e);
    }
    return file;
  }
}
