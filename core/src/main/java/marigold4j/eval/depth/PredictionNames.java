package marigold4j.eval.depth;

/**
 * Where a sample's prediction lives: {@code get_pred_name} of Marigold's {@code base_depth_dataset.py} plus the
 * directory of the RGB file, e.g. {@code test/kitchen_0004/rgb_0001.png -> test/kitchen_0004/pred_0001.npy} (NYU).
 */
public final class PredictionNames {
  /** The original's {@code DepthFileNameMode}. */
  public enum Mode {
    /** {@code id.png -> pred_id.npy}. */
    ID,
    /** {@code rgb_id.png -> pred_id.npy}: the second {@code _}-separated field. */
    RGB_ID,
    /** {@code i_d_rgb.png -> i_d_pred.npy}. */
    I_D_RGB,
    /** {@code rgb_i_d.png -> pred_i_d.npy}: everything after the first {@code _}. */
    RGB_I_D
  }

  private PredictionNames() {}

  /** The prediction basename for an RGB basename, with the extension replaced by {@code suffix}. */
  public static String basename(String rgbBasename, Mode mode, String suffix) {
    String name = switch (mode) {
      case RGB_ID -> {
        String[] parts = rgbBasename.split("_", -1);
        if (parts.length < 2) {
          throw new IllegalArgumentException("RGB file name '" + rgbBasename
              + "' has no '_': the rgb_<id> naming of this dataset needs one");
        }
        yield "pred_" + parts[1];
      }
      case I_D_RGB -> rgbBasename.replace("_rgb.", "_pred.");
      case ID -> "pred_" + rgbBasename;
      case RGB_I_D -> {
        int cut = rgbBasename.indexOf('_');
        yield "pred_" + (cut < 0 ? "" : rgbBasename.substring(cut + 1));
      }
    };
    return stripExtension(name) + suffix;
  }

  /** {@code os.path.join(os.path.dirname(rgbRelativePath), basename(...))} with the {@code .npy} suffix. */
  public static String relativePath(String rgbRelativePath, Mode mode) {
    int cut = rgbRelativePath.lastIndexOf('/') + 1;
    String head = rgbRelativePath.substring(0, cut);
    // os.path.dirname strips the trailing slashes unless the head is nothing but slashes
    if (!head.isEmpty() && !head.matches("/+")) head = head.replaceAll("/+$", "");
    String base = basename(rgbRelativePath.substring(cut), mode, ".npy");
    if (head.isEmpty()) return base;
    return head.endsWith("/") ? head + base : head + "/" + base;
  }

  /** {@code os.path.splitext(name)[0]}: a dot that only leads the name does not start an extension. */
  static String stripExtension(String name) {
    int slash = name.lastIndexOf('/');
    int dot = name.lastIndexOf('.');
    if (dot <= slash) return name;
    for (int i = slash + 1; i < dot; i++) {
      if (name.charAt(i) != '.') return name.substring(0, dot);
    }
    return name;
  }
}
