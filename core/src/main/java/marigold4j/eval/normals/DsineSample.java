package marigold4j.eval.normals;

import java.nio.file.Path;

/**
 * One line of a DSINE split file, e.g. {@code test/000001_img.png}, resolved against the dataset folder
 * ({@code <data-dir>/<dataset>}).
 *
 * @param dataset the dataset it belongs to
 * @param relativePath the split-file line
 * @param sceneName the first path component (the loaders' {@code scene_name})
 * @param imgName the file name before {@code _img} (the loaders' {@code img_name})
 * @param imgExt what follows {@code _img}, e.g. {@code .png}
 * @param datasetDir the dataset folder the paths are resolved against
 */
public record DsineSample(DsineDataset dataset, String relativePath, String sceneName, String imgName, String imgExt,
    Path datasetDir) {

  /** Parses a split line the way the loaders do ({@code sample_path.split('/')[..].split('_img')}). */
  public static DsineSample of(DsineDataset dataset, String line, Path datasetDir) {
    String[] parts = line.split("/", -1);
    // OASIS takes the last path component, the others the second (identical for the two-level layouts)
    String file = dataset == DsineDataset.OASIS ? parts[parts.length - 1] : (parts.length > 1 ? parts[1] : "");
    String[] nameExt = file.split("_img", -1);
    if (parts.length < 2 || nameExt.length != 2) {
      throw new IllegalArgumentException("split line '" + line + "' of " + dataset.id()
          + " is not of the form <scene>/<name>_img<ext>");
    }
    return new DsineSample(dataset, line, parts[0], nameExt[0], nameExt[1], datasetDir);
  }

  /** The RGB image. */
  public Path imagePath() {
    return datasetDir.resolve(relativePath);
  }

  /** The ground-truth normal file ({@code _img<ext>} replaced by {@code _normal.png|.exr|.pkl}). */
  public Path normalPath() {
    return datasetDir.resolve(relativePath.replace("_img" + imgExt, "_normal" + dataset.normalExtension()));
  }

  /** The camera intrinsics ({@code _intrins.npy}); the loaders require it even though the metrics never use it. */
  public Path intrinsPath() {
    return datasetDir.resolve(relativePath.replace("_img" + imgExt, "_intrins.npy"));
  }

  /**
   * Where a saved prediction of this sample lives, relative to the predictions folder:
   * {@code <dataset>/<split line with "_img<ext>" replaced by "_pred.npy">}, e.g. {@code nyuv2/test/000001_pred.npy}.
   */
  public String predictionRelativePath() {
    return dataset.id() + "/" + relativePath.replace("_img" + imgExt, "_pred.npy");
  }
}
