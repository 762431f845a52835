package marigold4j.cli.serve;

import java.util.List;
import java.util.Map;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.image.PilImage;
import marigold4j.pipeline.Modality;

/**
 * A loaded model as the server offers it: what it predicts, its defaults, and one prediction as encoded files.
 * {@link #predict} is only ever called from the server's single model thread, so implementations need no locking.
 */
public interface ServedModel extends AutoCloseable {
  /** The name clients select it by (the checkpoint's Hub id, or its folder name). */
  String id();

  /** {@code marigold} or {@code geowizard}. */
  String family();

  /** What it predicts, in the order the page offers them. */
  List<Modality> tasks();

  /**
   * The settings a request gets when it gives none: the checkpoint's own defaults, with at least processing
   * resolution, ensemble size, steps and noise set (and the domain where {@link #hasDomains()}).
   */
  EstimatorSettings defaults(Modality task);

  /**
   * Activation bytes one ensemble member takes per processing pixel ({@link marigold4j.estimator.WorkBudget}); the
   * server refuses requests whose estimate exceeds its memory budget.
   */
  default long bytesPerProcessingPixel() {
    return marigold4j.estimator.WorkBudget.SD2_FP32_BYTES_PER_PIXEL;
  }

  /** Whether the model takes a GeoWizard scene {@link Domain}. */
  default boolean hasDomains() {
    return false;
  }

  /**
   * Predicts one image.
   *
   * @param seed seeds the random draws as run.py's {@code --seed} (irrelevant with zeros noise)
   * @throws IllegalArgumentException when the settings are invalid for this model (the message says why)
   */
  Output predict(PilImage image, Modality task, EstimatorSettings settings, long seed);

  /**
   * {@link #predict(PilImage, Modality, EstimatorSettings, long)} with the 3D and float files of
   * {@link marigold4j.geometry.GeometryRequest} (EXR, point cloud, meshes, and metric depth with a reference).
   *
   * @param geometry what to add, or null for the plain files
   * @param reference a metric reference of the image's size, or null
   */
  default Output predict(PilImage image, Modality task, EstimatorSettings settings, long seed,
      marigold4j.geometry.GeometryRequest geometry, marigold4j.geometry.MetricReference reference) {
    if (geometry != null || reference != null) {
      throw new IllegalArgumentException("model '" + id() + "' offers no 3D files");
    }
    return predict(image, task, settings, seed);
  }

  @Override
  void close();

  /**
   * One prediction as the files {@code predict} writes, encoded in memory, by the name clients ask for them
   * ({@link marigold4j.estimator.OutputFormats#kinds()}: {@code npy}, {@code png16}, {@code colored}); a kind the
   * map has no file of is absent.
   */
  record Output(Modality task, int width, int height, Map<String, byte[]> files) {
    public Output {
      files = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(files));
    }

    /** Bytes held, for the result cache's budget. */
    public long bytes() {
      return files.values().stream().mapToLong(b -> b.length).sum();
    }
  }
}
