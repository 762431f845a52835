package marigold4j.eval.depth;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Locale;

/**
 * The five benchmarks as the original's scripts ({@code experiments/depth/eval_args/marigold_e2e_ft/*.sh}) run
 * them: dataset YAML, output folder name, inference resolution ({@code 0} = native) and
 * {@code --alignment_max_res}. Listed in the order of {@code 0_infer_eval_all.sh}.
 */
public enum DatasetPreset {
  NYU("nyu", "nyu_test", "data_nyu_test.yaml", 0, null),
  KITTI("kitti", "kitti_eigen_test", "data_kitti_eigen_test.yaml", 0, null),
  SCANNET("scannet", "scannet", "data_scannet_val.yaml", 0, null),
  DIODE("diode", "diode", "data_diode_all.yaml", 640, null),
  ETH3D("eth3d", "eth3d", "data_eth3d.yaml", 756, 1024);

  private final String key;
  private final String outputName;
  private final String configFile;
  private final int processingRes;
  private final Integer alignmentMaxRes;

  DatasetPreset(String key, String outputName, String configFile, int processingRes, Integer alignmentMaxRes) {
    this.key = key;
    this.outputName = outputName;
    this.configFile = configFile;
    this.processingRes = processingRes;
    this.alignmentMaxRes = alignmentMaxRes;
  }

  /** {@code nyu}, {@code kitti}, {@code eth3d}, {@code scannet} or {@code diode}. */
  public static DatasetPreset parse(String key) {
    for (DatasetPreset p : values()) {
      if (p.key.equals(key.trim().toLowerCase(Locale.ROOT))) return p;
    }
    throw new IllegalArgumentException("unknown dataset '" + key + "': use nyu, kitti, eth3d, scannet, diode or all");
  }

  public String key() {
    return key;
  }

  /** The per-dataset folder of the original's experiment layout ({@code nyu_test}, {@code kitti_eigen_test}, ...). */
  public String outputName() {
    return outputName;
  }

  /** The original's config path, as its scripts pass it ({@code Marigold/config/dataset/...}). */
  public String configPath() {
    return "Marigold/config/dataset/" + configFile;
  }

  /** The original YAML (bundled), whose filename list resolves to the bundled original list. */
  public DatasetConfig config() {
    try (InputStream in = DatasetPreset.class.getResourceAsStream("config/" + configFile)) {
      return DatasetConfig.parse(in, configPath());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Inference resolution of the original scripts: native for NYU, KITTI and ScanNet, 640 DIODE, 756 ETH3D. */
  public int processingRes() {
    return processingRes;
  }

  /** {@code --alignment_max_res} of the original scripts: 1024 for ETH3D, otherwise none. */
  public Integer alignmentMaxRes() {
    return alignmentMaxRes;
  }
}
