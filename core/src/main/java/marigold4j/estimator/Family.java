package marigold4j.estimator;

import java.nio.file.Path;
import java.util.Optional;
import marigold4j.pipeline.Precision;

/**
 * A model family: recognises its checkpoints by their contents and loads them as an {@link Estimator}. One
 * implementation per family package, registered in {@link Estimators#FAMILIES}.
 */
public interface Family {
  /** The family's name ({@code marigold}, {@code geowizard}, ...). */
  String name();

  /**
   * Whether {@code checkpoint} is one of this family's, judged from its contents ({@code model_index.json}'s class and
   * keys, components, UNet config); {@code name} (what the user called it: a Hub id or a folder) only as the last
   * resort where the contents say nothing.
   */
  Optional<Detection> detect(Path checkpoint, String name);

  /** Whose files its predictions write (the names and layouts of the family's original script). */
  DensePrediction.Convention convention();

  /** Whether its models take a scene {@link marigold4j.models.geowizard.GeoWizardConditioning.Domain}. */
  default boolean hasDomains() {
    return false;
  }

  /** Loads a checkpoint this family detected. */
  Estimator load(Path checkpoint, Detection detection, Precision precision, String device);
}
