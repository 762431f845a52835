package marigold4j.estimator;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import marigold4j.image.PilImage;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;
import marigold4j.pipeline.Prediction;
import marigold4j.random.NoiseSource;

/**
 * A loaded dense estimator, whatever its family: which maps it produces, its defaults, one prediction per call. Every
 * client (the Java API, {@code predict}, {@code serve}, evaluation) goes through this interface; a family implements
 * it in its own package and registers once in {@link Estimators}.
 *
 * <p>Not thread-safe: one caller at a time (the server runs its models on one thread).
 */
public interface Estimator extends AutoCloseable {
  /** The family's name ({@code marigold}, {@code geowizard}, ...), as {@code /api/models} reports it. */
  String family();

  /** The maps one call produces, in the order clients offer them. */
  List<Modality> maps();

  /** Whether the model takes a scene {@link marigold4j.models.geowizard.GeoWizardConditioning.Domain} (GeoWizard). */
  default boolean hasDomains() {
    return false;
  }

  /** The settings a call gets for what it does not set: the checkpoint's own defaults, else the original script's. */
  EstimatorSettings defaults();

  /**
   * The noise source of a run seeded as the family's original script seeds it (run.py, run_infer.py, ...): a folder
   * of images draws from one source in turn; a server request gets a fresh one.
   */
  NoiseSource seeded(long seed);

  /**
   * Predicts every map of {@link #maps()} for one decoded image. Settings left null take {@link #defaults()}.
   *
   * @param noise from {@link #seeded}; may be null with zeros noise
   * @throws IllegalArgumentException when a setting is invalid for this model (the message says which and why)
   */
  DensePrediction predict(PilImage image, EstimatorSettings settings, NoiseSource noise);

  /**
   * Predicts several images of one size, in order. Families whose original batches a list of images in one call
   * (diffusers' Marigold pipelines) override it to do so; the default predicts them one after another, each call as
   * {@link #predict} with the same noise source.
   *
   * @throws IllegalArgumentException when a setting is invalid for this model or the images differ in size
   */
  default List<DensePrediction> predictBatch(List<PilImage> images, EstimatorSettings settings, NoiseSource noise) {
    List<DensePrediction> out = new ArrayList<>(images.size());
    for (PilImage image : images) out.add(predict(image, settings, noise));
    return out;
  }

  /**
   * The shape of the initial prediction latents ({@link EstimatorSettings#latents()}) a call with these settings takes
   * for an image of this size, or null when the family takes no initial latents (only diffusers' Marigold checkpoints
   * do). Video's latent blending draws its common latent with this shape before the first frame.
   */
  default long[] latentShape(int height, int width, EstimatorSettings settings) {
    return null;
  }

  /**
   * This estimator's prediction of {@code map} from values computed outside one call (tiling blends them): the
   * visualisation and file layout {@link #predict} would give them. The default is run.py's (depth through the
   * colormap over [0, 1], normals {@code (n + 1) / 2}); a family with its own visuals overrides it.
   *
   * @param values (C, H, W) in the map's range
   * @param uncertainty (H, W) or (C, H, W), or null
   */
  default Prediction present(Modality map, int height, int width, float[] values, float[] uncertainty,
      EstimatorSettings settings) {
    String colorMap = settings.colorMap() != null ? settings.colorMap() : defaults().colorMap();
    return marigold4j.estimator.tiles.Visuals.runPy(map, height, width, values, uncertainty, colorMap);
  }

  Precision precision();

  /** The checkpoint folder it was loaded from. */
  Path checkpoint();

  @Override
  void close();
}
