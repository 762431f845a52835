package marigold4j.estimator;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.estimator.diffusers.MarigoldDiffusersFamily;
import marigold4j.estimator.geowizard.GeoWizardFamily;
import marigold4j.estimator.lotus.LotusFamily;
import marigold4j.estimator.marigold.MarigoldFamily;
import marigold4j.pipeline.Precision;

/**
 * The entry point of the core API: recognises a checkpoint's family and maps, and loads it as an {@link Estimator}.
 * The CLI, the server, evaluation and Java users all load models here, so they agree on every checkpoint.
 */
public final class Estimators {
  /** The registered families, most specific first: the first whose {@link Family#detect} answers wins. */
  static final List<Family> FAMILIES = List.of(
      new GeoWizardFamily(),
      new MarigoldDiffusersFamily(),
      new LotusFamily(),
      new MarigoldFamily());

  private Estimators() {}

  public static List<Family> families() {
    return FAMILIES;
  }

  /**
   * What the checkpoint folder holds.
   *
   * @param name what the user called it (Hub id or path), consulted only where the contents say nothing
   * @throws CheckpointException when no family recognises it
   */
  public static Detection detect(Path checkpoint, String name) {
    if (!Files.isDirectory(checkpoint)) throw new CheckpointException(checkpoint, "not a checkpoint folder");
    for (Family f : FAMILIES) {
      Optional<Detection> d = f.detect(checkpoint, name);
      if (d.isPresent()) return d.get();
    }
    throw new CheckpointException(checkpoint, "not a checkpoint of a known family (" + FAMILIES.stream()
        .map(Family::name).toList() + "): no model_index.json or unet/ folder of theirs");
  }

  /** Detects and loads a checkpoint ({@code device}: {@code cpu}, {@code cuda} or {@code cuda:N}). */
  public static Estimator load(Path checkpoint, String name, Precision precision, String device) {
    return load(checkpoint, detect(checkpoint, name), precision, device);
  }

  /** Loads a checkpoint as {@code detection} describes it (possibly narrowed with {@link Detection#only}). */
  public static Estimator load(Path checkpoint, Detection detection, Precision precision, String device) {
    return detection.family().load(checkpoint, detection, precision, device);
  }
}
