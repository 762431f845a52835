package marigold4j.cli.serve;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.estimator.OutputFormat;
import marigold4j.estimator.OutputFormats;
import marigold4j.image.PilImage;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Prediction;

/**
 * Any {@link Estimator} as the server offers it: a request asks for one of its maps and gets that map's files, encoded
 * by {@link OutputFormats} exactly as {@code predict} writes them. Every family is served through this one class.
 */
public final class EstimatorServedModel implements ServedModel {
  private final String id;
  private final Estimator estimator;
  /**
   * The last call of a model with several maps: a request for another map of the same image, settings and seed reuses
   * it (the intrinsics page asks for each target in turn).
   */
  private Call lastCall;
  private DensePrediction lastPrediction;

  /** What decides a call's result; the image is compared by its pixels, not a hash of them. */
  private record Call(PilImage image, EstimatorSettings settings, long seed) {
    boolean sameAs(PilImage otherImage, EstimatorSettings otherSettings, long otherSeed) {
      return seed == otherSeed && settings.equals(otherSettings) && image.mode() == otherImage.mode()
          && image.width() == otherImage.width() && image.height() == otherImage.height()
          && java.util.Arrays.equals(image.pixels(), otherImage.pixels());
    }
  }

  /** Serves {@code estimator} (owned from now on: closed with this model) as {@code id}. */
  public EstimatorServedModel(String id, Estimator estimator) {
    this.id = id;
    this.estimator = estimator;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String family() {
    return estimator.family();
  }

  @Override
  public List<Modality> tasks() {
    return estimator.maps();
  }

  @Override
  public long bytesPerProcessingPixel() {
    return marigold4j.estimator.WorkBudget.bytesPerProcessingPixel(estimator);
  }

  @Override
  public boolean hasDomains() {
    return estimator.hasDomains();
  }

  @Override
  public EstimatorSettings defaults(Modality task) {
    return estimator.defaults();
  }

  @Override
  public Output predict(PilImage image, Modality task, EstimatorSettings settings, long seed) {
    return predict(image, task, settings, seed, null, null);
  }

  @Override
  public Output predict(PilImage image, Modality task, EstimatorSettings settings, long seed,
      marigold4j.geometry.GeometryRequest geometry, marigold4j.geometry.MetricReference reference) {
    if (!estimator.maps().contains(task)) {
      throw new IllegalArgumentException("model '" + id + "' predicts "
          + String.join(" and ", estimator.maps().stream().map(Modality::cliName).toList()) + ", not "
          + task.cliName());
    }
    DensePrediction p;
    if (lastCall != null && lastCall.sameAs(image, settings, seed)) {
      p = lastPrediction;
    } else {
      p = marigold4j.estimator.tiles.Tiling.predict(estimator, image, settings, estimator.seeded(seed));
      if (estimator.maps().size() > 1) {
        lastCall = new Call(image, settings, seed);
        lastPrediction = p;
      }
    }
    if (geometry != null) {
      // the camera comes from the request's defaults: an upload's EXIF is not consulted
      p = p.withScene(marigold4j.geometry.Scene.of(geometry,
          p.names().contains(Modality.DEPTH) ? p.map(Modality.DEPTH) : null,
          p.names().contains(Modality.NORMALS) ? p.map(Modality.NORMALS) : null, image,
          java.util.OptionalDouble.empty(), reference));
    }
    Prediction map = p.map(task);
    Map<String, byte[]> files = new LinkedHashMap<>();
    for (OutputFormat f : OutputFormats.of(task)) {
      byte[] data = f.encode(p, task);
      if (data != null) files.put(f.kind(), data);
    }
    return new Output(task, map.width(), map.height(), files);
  }

  /** The estimator served. */
  public Estimator estimator() {
    return estimator;
  }

  @Override
  public void close() {
    estimator.close();
  }
}
