package marigold4j.eval.normals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The datasets of the DSINE surface-normal benchmark in their {@code dsine_eval/<id>/} layout, with the split each
 * is evaluated on and the way its ground truth is decoded (see the loaders in {@code DSINE/data/datasets/<id>}).
 *
 * <table>
 *   <caption>ground truth per dataset</caption>
 *   <tr><th>id</th><th>split</th><th>normal file</th><th>decode</th><th>mask</th></tr>
 *   <tr><td>nyuv2, scannet</td><td>test</td><td>{@code _normal.png}, 8 bit</td><td>{@code v/255*2-1}</td>
 *       <td>{@code R+G+B > 0}</td></tr>
 *   <tr><td>vkitti</td><td>vkitti</td><td>{@code _normal.png}, 16 bit</td><td>{@code v/65535*2-1}</td>
 *       <td>{@code R+G+B > 0}</td></tr>
 *   <tr><td>ibims, sintel</td><td>ibims, sintel</td><td>{@code _normal.exr}</td><td>as stored</td>
 *       <td>{@code |n| > 0.5}</td></tr>
 *   <tr><td>oasis</td><td>val</td><td>{@code _normal.pkl} (ROI)</td><td>ROI pasted into zeros, x and y negated</td>
 *       <td>ROI pixels with a non-zero component</td></tr>
 * </table>
 */
public enum DsineDataset {
  NYUV2("nyuv2", "test", ".png"),
  SCANNET("scannet", "test", ".png"),
  IBIMS("ibims", "ibims", ".exr"),
  SINTEL("sintel", "sintel", ".exr"),
  OASIS("oasis", "val", ".pkl"),
  VKITTI("vkitti", "vkitti", ".png");

  /** What {@code --eval_data all} evaluates in the original ({@code projects/dsine/test.py}; OASIS is commented out). */
  public static final List<DsineDataset> ALL = List.of(NYUV2, SCANNET, IBIMS, SINTEL);

  private final String id;
  private final String split;
  private final String normalExtension;

  DsineDataset(String id, String split, String normalExtension) {
    this.id = id;
    this.split = split;
    this.normalExtension = normalExtension;
  }

  /** The folder / command-line name, e.g. {@code nyuv2}. */
  public String id() {
    return id;
  }

  /** The split evaluated by the benchmark, e.g. {@code test}. */
  public String split() {
    return split;
  }

  String normalExtension() {
    return normalExtension;
  }

  /** The dataset named {@code id} (case-insensitive). */
  public static DsineDataset byId(String id) {
    for (DsineDataset d : values()) {
      if (d.id.equals(id.strip().toLowerCase(Locale.ROOT))) return d;
    }
    throw new IllegalArgumentException("unknown DSINE dataset '" + id + "' (known: all, nyuv2, scannet, ibims, sintel, "
        + "oasis, vkitti)");
  }

  /** {@code all} (the original's four datasets) or a comma-separated list of ids, in the given order. */
  public static List<DsineDataset> parseList(String spec) {
    if (spec.strip().equalsIgnoreCase("all")) return ALL;
    Set<DsineDataset> out = new LinkedHashSet<>();
    for (String part : spec.split(",")) {
      if (!part.isBlank()) out.add(byId(part));
    }
    if (out.isEmpty()) throw new IllegalArgumentException("no dataset given in '" + spec + "'");
    return List.copyOf(out);
  }

  /** The split file {@code <splitDir>/<id>/split/<split>.txt} (the layout of {@code DSINE/data/datasets}). */
  public Path splitFile(Path splitDir) {
    return splitDir.resolve(id).resolve("split").resolve(split + ".txt");
  }

  /**
   * The samples of the split, in file order, resolved against {@code <dataDir>/<id>}. Lines are stripped; a blank
   * line is an error (the original loader would fail on it too).
   */
  public List<DsineSample> samples(Path dataDir, Path splitDir) {
    Path file = splitFile(splitDir);
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(file + ": split file of " + id + " not found");
    }
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": " + e.getMessage(), e);
    }
    List<DsineSample> samples = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty()) throw new IllegalArgumentException(file + ":" + (i + 1) + ": blank line in split file");
      samples.add(DsineSample.of(this, line, dataDir.resolve(id)));
    }
    return samples;
  }
}
