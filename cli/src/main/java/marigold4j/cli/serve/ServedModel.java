package marigold4j.cli.serve;

import java.util.List;
import marigold4j.image.PilImage;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;

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

  /** The settings a request gets when it gives none: the checkpoint's own defaults. */
  Settings defaults(Modality task);

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
  Output predict(PilImage image, Modality task, Settings settings, long seed);

  @Override
  void close();

  /**
   * The user-facing settings of one call.
   *
   * @param processingRes long edge before inference; 0 = native resolution
   * @param domain GeoWizard's scene domain (ignored by other families)
   */
  record Settings(int processingRes, int ensembleSize, int denoisingSteps, NoiseType noise, Domain domain) {}

  /**
   * One prediction as the files run.py writes, encoded in memory.
   *
   * @param npy the {@code .npy} file: float32 (H, W) depth or (3, H, W) normals (GeoWizard normals: (H, W, 3))
   * @param png16 the 16-bit depth PNG, or null for normals
   * @param coloredPng the colourised visualisation (8-bit RGB PNG)
   */
  record Output(Modality task, int width, int height, byte[] npy, byte[] png16, byte[] coloredPng) {
    /** Bytes held, for the result cache's budget. */
    public long bytes() {
      return npy.length + (png16 == null ? 0 : png16.length) + coloredPng.length;
    }
  }
}
