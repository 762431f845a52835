package marigold4j.eval.depth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One evaluation dataset as described by the original's YAML ({@code Marigold/config/dataset/*.yaml}): {@code name}
 * selects the dataset class, {@code dir} is the archive (or folder) relative to the base data directory,
 * {@code filenames} the sample list; NYU needs {@code eigen_valid_mask}, KITTI {@code kitti_bm_crop} and
 * {@code valid_mask_crop} ({@code null}, {@code garg} or {@code eigen}).
 *
 * <p>{@code min_depth} / {@code max_depth} may override the dataset's constants (the original would reject them as
 * duplicate arguments); the printed text is the YAML number as Python would print it.
 *
 * @param filenames the list path exactly as written (it is printed in the metrics file)
 * @param source where the config came from, for error messages and relative-path fallback
 */
public record DatasetConfig(
    DatasetKind kind,
    String dispName,
    String dir,
    String filenames,
    boolean eigenValidMask,
    boolean kittiBmCrop,
    String validMaskCrop,
    double minDepth,
    String minDepthText,
    double maxDepth,
    String maxDepthText,
    String source) {

  private static final Logger LOG = LoggerFactory.getLogger(DatasetConfig.class);
  private static final ObjectMapper YAML = new YAMLMapper();
  private static final Set<String> KNOWN = Set.of("name", "disp_name", "dir", "filenames", "eigen_valid_mask",
      "kitti_bm_crop", "valid_mask_crop", "min_depth", "max_depth");

  /** Reads a dataset YAML file. */
  public static DatasetConfig read(Path yaml) {
    try (InputStream in = Files.newInputStream(yaml)) {
      return parse(in, yaml.toString());
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("dataset config " + yaml + " not found");
    } catch (IOException e) {
      throw new IllegalArgumentException("dataset config " + yaml + ": " + e.getMessage(), e);
    }
  }

  /** Parses YAML text; {@code source} names it in messages. */
  public static DatasetConfig parse(InputStream yaml, String source) throws IOException {
    JsonNode root = YAML.readTree(yaml);
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("dataset config " + source + " is not a YAML mapping");
    }
    List<String> unknown = new ArrayList<>();
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!KNOWN.contains(k)) unknown.add(k);
    }
    // the original passes every key on as a keyword argument that the dataset classes ignore
    if (!unknown.isEmpty()) LOG.info("dataset config {}: ignoring keys {}", source, unknown);

    DatasetKind kind;
    try {
      kind = DatasetKind.fromConfigName(text(root, "name", source));
    } catch (IllegalArgumentException e) {
      if (e.getMessage().contains(source)) throw e;
      throw new IllegalArgumentException("dataset config " + source + ": " + e.getMessage(), e);
    }
    String disp = text(root, "disp_name", source);
    String dir = text(root, "dir", source);
    String filenames = text(root, "filenames", source);
    boolean eigen = false;
    boolean bmCrop = false;
    String crop = null;
    if (kind == DatasetKind.NYU_V2) {
      eigen = bool(root, "eigen_valid_mask", source);
    } else if (kind == DatasetKind.KITTI) {
      bmCrop = bool(root, "kitti_bm_crop", source);
      if (!root.has("valid_mask_crop")) throw missing("valid_mask_crop", source, "null, garg or eigen");
      JsonNode c = root.get("valid_mask_crop");
      crop = c.isNull() ? null : c.asText();
      if (crop != null && !crop.equals("garg") && !crop.equals("eigen")) {
        throw new IllegalArgumentException("dataset config " + source + ": unknown valid_mask_crop '" + crop
            + "' (expected null, garg or eigen)");
      }
    }
    double min = kind.minDepth();
    String minText = kind.minDepthText();
    double max = kind.maxDepth();
    String maxText = kind.maxDepthText();
    if (root.hasNonNull("min_depth")) {
      min = number(root.get("min_depth"), "min_depth", source);
      minText = pythonNumber(root.get("min_depth"));
    }
    if (root.hasNonNull("max_depth")) {
      max = number(root.get("max_depth"), "max_depth", source);
      maxText = pythonNumber(root.get("max_depth"));
    }
    return new DatasetConfig(kind, disp, dir, filenames, eigen, bmCrop, crop, min, minText, max, maxText, source);
  }

  private static String pythonNumber(JsonNode n) {
    if (n.isIntegralNumber()) return n.bigIntegerValue().toString();
    return PythonFormat.repr(number(n, "", ""));
  }

  private static double number(JsonNode n, String key, String source) {
    if (n.isNumber()) return n.asDouble();
    // a quoted value such as "inf" arrives as text (Jackson cannot read YAML's bare .inf)
    String t = n.asText().trim().toLowerCase(java.util.Locale.ROOT).replace(".inf", "inf");
    try {
      return t.endsWith("inf") ? (t.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY)
          : Double.parseDouble(t);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("dataset config " + source + ": " + key + " is not a number: '" + n.asText()
          + "'");
    }
  }

  private static String text(JsonNode root, String key, String source) {
    JsonNode n = root.get(key);
    if (n == null || n.isNull() || n.asText().isEmpty()) throw missing(key, source, "a value");
    return n.asText();
  }

  private static boolean bool(JsonNode root, String key, String source) {
    JsonNode n = root.get(key);
    if (n == null || n.isNull()) throw missing(key, source, "true or false");
    if (n.isBoolean()) return n.booleanValue();
    throw new IllegalArgumentException("dataset config " + source + ": " + key + " must be true or false, not '"
        + n.asText() + "'");
  }

  private static IllegalArgumentException missing(String key, String source, String what) {
    return new IllegalArgumentException("dataset config " + source + " has no '" + key + "' (" + what + ")");
  }
}
