package marigold4j.eval.depth;

import java.util.Locale;

/**
 * The five evaluation datasets of Marigold's {@code src/dataset/}, keyed by the {@code name} of their YAML config,
 * with the constants each dataset class hard-codes: depth range (value and the text Python prints for it, {@code 10}
 * and {@code 10.0} differ), prediction file naming and whether the filename list carries a filled-depth column.
 */
public enum DatasetKind {
  NYU_V2("nyu_v2", 1e-3, "0.001", 10.0, "10.0", PredictionNames.Mode.RGB_ID, 3),
  KITTI("kitti", 1e-5, "1e-05", 80, "80", PredictionNames.Mode.ID, 2),
  ETH3D("eth3d", 1e-5, "1e-05", Double.POSITIVE_INFINITY, "inf", PredictionNames.Mode.ID, 2),
  DIODE("diode", 0.6, "0.6", 350, "350", PredictionNames.Mode.ID, 3),
  SCANNET("scannet", 1e-3, "0.001", 10, "10", PredictionNames.Mode.ID, 2);

  private final String configName;
  private final double minDepth;
  private final String minDepthText;
  private final double maxDepth;
  private final String maxDepthText;
  private final PredictionNames.Mode nameMode;
  private final int fieldsPerLine;

  DatasetKind(String configName, double minDepth, String minDepthText, double maxDepth, String maxDepthText,
      PredictionNames.Mode nameMode, int fieldsPerLine) {
    this.configName = configName;
    this.minDepth = minDepth;
    this.minDepthText = minDepthText;
    this.maxDepth = maxDepth;
    this.maxDepthText = maxDepthText;
    this.nameMode = nameMode;
    this.fieldsPerLine = fieldsPerLine;
  }

  /** The kind for a config's {@code name} ({@code nyu_v2}, {@code kitti}, {@code eth3d}, {@code diode}, {@code scannet}). */
  public static DatasetKind fromConfigName(String name) {
    for (DatasetKind k : values()) {
      if (k.configName.equals(name)) return k;
    }
    throw new IllegalArgumentException("unknown dataset name '" + name + "': expected one of nyu_v2, kitti, eth3d, "
        + "diode, scannet");
  }

  public String configName() {
    return configName;
  }

  /** Lower bound of the valid GT range and of the prediction clip (as the Python double). */
  public double minDepth() {
    return minDepth;
  }

  /** How the original prints {@link #minDepth()} ({@code str()} of the Python value). */
  public String minDepthText() {
    return minDepthText;
  }

  public double maxDepth() {
    return maxDepth;
  }

  public String maxDepthText() {
    return maxDepthText;
  }

  public PredictionNames.Mode nameMode() {
    return nameMode;
  }

  /** Fields a filename-list line must have: rgb, depth and (NYU: filled depth, DIODE: mask). */
  public int fieldsPerLine() {
    return fieldsPerLine;
  }

  @Override
  public String toString() {
    return configName.toLowerCase(Locale.ROOT);
  }
}
