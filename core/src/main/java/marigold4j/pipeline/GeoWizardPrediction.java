package marigold4j.pipeline;

import java.nio.file.Path;
import java.util.Objects;
import marigold4j.image.Npy;
import marigold4j.image.RgbPng;

/**
 * The result of one GeoWizard call, held in Java arrays (no native memory): the depth and the normal map of the same
 * image, each with its visualisation, and the depth ensemble's uncertainty when ensembling.
 *
 * <p>{@link #normals()} follows {@link Prediction}'s convention (values (3, H, W)); GeoWizard itself returns and saves
 * its normal map as (H, W, 3), which {@link #normalsHwc()} and {@link #save} give.
 */
public final class GeoWizardPrediction {
  private final Prediction depth;
  private final Prediction normals;

  GeoWizardPrediction(Prediction depth, Prediction normals) {
    this.depth = Objects.requireNonNull(depth);
    this.normals = Objects.requireNonNull(normals);
    if (depth.height() != normals.height() || depth.width() != normals.width()) {
      throw new IllegalArgumentException("depth " + depth.width() + "x" + depth.height() + " and normals "
          + normals.width() + "x" + normals.height() + " differ in size");
    }
  }

  /** Depth (H, W) in [0, 1] (0 = near), its Spectral visualisation and, when ensembling, the uncertainty. */
  public Prediction depth() {
    return depth;
  }

  /** Normals (3, H, W) in [-1, 1] and their visualisation {@code ((n + 1) / 2 * 255)} as (H, W, 3) bytes. */
  public Prediction normals() {
    return normals;
  }

  public int height() {
    return depth.height();
  }

  public int width() {
    return depth.width();
  }

  /** The normal map in GeoWizard's layout, (H, W, 3) in C order, as its {@code normal_np} / {@code .npy}. */
  public float[] normalsHwc() {
    return normals.valuesHwc();
  }

  /**
   * Writes the files run_infer.py writes, each atomically: {@code depth_npy/<name>_pred.npy} (float32 H x W),
   * {@code normal_npy/<name>_pred.npy} (float32 H x W x 3), {@code depth_colored/<name>_pred_colored.png} (unless no
   * colormap was requested) and {@code normal_colored/<name>_pred_colored.png}.
   *
   * @param name the input file's name without its extension (run_infer.py's {@code os.path.splitext})
   */
  public void save(Path outputDir, String name) {
    int h = height();
    int w = width();
    Npy.write(RunPyFiles.npy(outputDir, Modality.DEPTH, name), Npy.Array.ofFloats(depth.values(), h, w));
    Npy.write(RunPyFiles.npy(outputDir, Modality.NORMALS, name), Npy.Array.ofFloats(normalsHwc(), h, w, 3));
    byte[] depthColored = depth.coloredRgb();
    if (depthColored != null) RgbPng.writeHwc(RunPyFiles.colored(outputDir, Modality.DEPTH, name), depthColored, w, h);
    RgbPng.writeHwc(RunPyFiles.colored(outputDir, Modality.NORMALS, name), normals.coloredRgb(), w, h);
  }
}
