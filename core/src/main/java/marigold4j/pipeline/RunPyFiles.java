package marigold4j.pipeline;

import java.nio.file.Path;

/**
 * The names of the files run.py (and GeoWizard's run_infer.py) write per map, in one place: the typed predictions'
 * {@code save} and the output registry ({@code estimator.OutputFormats}) both take them from here.
 * {@code <out>/<prefix>_npy/<name>_pred.npy}, {@code <out>/depth_bw/<name>_pred.png} (16-bit depth),
 * {@code <out>/<prefix>_colored/<name>_pred_colored.png}, where the prefix is the map's
 * ({@link Modality#folderPrefix()}: {@code depth}, {@code normal}, ...).
 */
public final class RunPyFiles {
  /** After the input's base name: the float32 array. */
  public static final String NPY_SUFFIX = "_pred.npy";
  /** After the input's base name: the 16-bit depth PNG. */
  public static final String PNG16_SUFFIX = "_pred.png";
  /** After the input's base name: the visualisation. */
  public static final String COLORED_SUFFIX = "_pred_colored.png";
  /** The folder of the 16-bit depth PNGs. */
  public static final String PNG16_FOLDER = "depth_bw";

  private RunPyFiles() {}

  /** {@code <prefix>_npy}. */
  public static String npyFolder(Modality map) {
    return map.folderPrefix() + "_npy";
  }

  /** {@code <prefix>_colored}. */
  public static String coloredFolder(Modality map) {
    return map.folderPrefix() + "_colored";
  }

  public static Path npy(Path out, Modality map, String name) {
    return out.resolve(npyFolder(map)).resolve(name + NPY_SUFFIX);
  }

  public static Path png16(Path out, String name) {
    return out.resolve(PNG16_FOLDER).resolve(name + PNG16_SUFFIX);
  }

  public static Path colored(Path out, Modality map, String name) {
    return out.resolve(coloredFolder(map)).resolve(name + COLORED_SUFFIX);
  }
}
