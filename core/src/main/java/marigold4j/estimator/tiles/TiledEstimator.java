package marigold4j.estimator.tiles;

import java.nio.file.Path;
import java.util.List;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.image.PilImage;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;
import marigold4j.pipeline.Prediction;
import marigold4j.random.NoiseSource;

/**
 * Any {@link Estimator} with tiled high-resolution inference ({@link Tiling}) on every call: a call's own
 * {@link EstimatorSettings#tiles()} when set, else this wrapper's tile settings.
 *
 * <pre>{@code
 * try (Estimator e = new TiledEstimator(Estimators.load(dir, Estimators.detect(dir, name), precision, "cpu"),
 *     TileSettings.DEFAULT)) {
 *   DensePrediction p = e.predict(ImageInput.read(photo), EstimatorSettings.defaults(), e.seeded(42));
 * }
 * }</pre>
 */
public final class TiledEstimator implements Estimator {
  private final Estimator estimator;
  private final TileSettings tiles;

  /** Wraps {@code estimator} (owned from now on: closed with this one). */
  public TiledEstimator(Estimator estimator, TileSettings tiles) {
    this.estimator = estimator;
    this.tiles = tiles;
  }

  @Override
  public DensePrediction predict(PilImage image, EstimatorSettings settings, NoiseSource noise) {
    EstimatorSettings s = settings.tiles() != null ? settings : settings.toBuilder().tiles(tiles).build();
    return Tiling.predict(estimator, image, s, noise);
  }

  /** The estimator underneath. */
  public Estimator estimator() {
    return estimator;
  }

  @Override
  public String family() {
    return estimator.family();
  }

  @Override
  public List<Modality> maps() {
    return estimator.maps();
  }

  @Override
  public boolean hasDomains() {
    return estimator.hasDomains();
  }

  @Override
  public EstimatorSettings defaults() {
    return estimator.defaults();
  }

  @Override
  public NoiseSource seeded(long seed) {
    return estimator.seeded(seed);
  }

  @Override
  public Prediction present(Modality map, int height, int width, float[] values, float[] uncertainty,
      EstimatorSettings settings) {
    return estimator.present(map, height, width, values, uncertainty, settings);
  }

  @Override
  public Precision precision() {
    return estimator.precision();
  }

  @Override
  public Path checkpoint() {
    return estimator.checkpoint();
  }

  @Override
  public void close() {
    estimator.close();
  }
}
