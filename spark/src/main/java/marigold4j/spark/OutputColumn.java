package marigold4j.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import marigold4j.estimator.DensePrediction.Convention;
import marigold4j.estimator.OutputFormat;
import marigold4j.estimator.OutputFormats;
import marigold4j.pipeline.Modality;

/**
 * One map column the transformer adds: a registered {@link OutputFormat} of one map (binary, its file's bytes), or the
 * map's float values ({@code kind} {@value #VALUES}).
 *
 * @param map the map's folder prefix ({@code depth}, {@code normal}, an intrinsic target)
 * @param kind the format's name ({@code npy}, {@code png16}, {@code colored}, {@code uncertainty}, ...) or
 *     {@value #VALUES}
 * @param folder where {@code predict} writes the file (the convention's folder), null for {@value #VALUES}
 * @param suffix the file name's suffix after the input's base name, null for {@value #VALUES}
 */
public record OutputColumn(String map, String kind, String folder, String suffix) implements Serializable {
  /** The pseudo-format of a map's float values (channels first, as the model produced them). */
  public static final String VALUES = "values";

  /** The column's name: {@code <map>_<kind>}, e.g. {@code depth_npy}, {@code normal_colored}, {@code depth_values}. */
  public String column() {
    return map + "_" + kind;
  }

  /** Whether the column holds a file's bytes (else float values). */
  public boolean binary() {
    return !kind.equals(VALUES);
  }

  /** The file {@code predict} writes for the input named {@code name}, relative to the output folder. */
  public String file(String name) {
    return folder + "/" + name + suffix;
  }

  /** The registered format (executor side). */
  OutputFormat format(Modality m) {
    return OutputFormats.find(m, kind).orElseThrow();
  }

  /** The formats written when none are asked for: predict's files, and the uncertainty of ensembles. */
  static boolean byDefault(OutputFormat f, boolean ensemble) {
    return !f.optional() || (ensemble && (f.kind().equals("uncertainty") || f.kind().equals("uncertainty_npy")));
  }

  /**
   * The columns for {@code kinds} (null = every file {@code predict} always writes, plus the uncertainty files when
   * {@code ensemble}; latents and 3D files are never columns) of an estimator with {@code maps}: each
   * kind that applies to a map under {@code convention} and that {@code predict} writes, in {@code predict}'s order.
   * Formats streamed to disk (3D files) are not columns.
   *
   * @throws IllegalArgumentException naming a kind that no map of the checkpoint has
   */
  public static List<OutputColumn> of(List<Modality> maps, Convention convention, List<String> kinds,
      boolean ensemble) {
    List<OutputColumn> out = new ArrayList<>();
    for (Modality m : maps) {
      if (kinds != null && kinds.contains(VALUES)) out.add(new OutputColumn(m.folderPrefix(), VALUES, null, null));
      for (OutputFormat f : OutputFormats.all()) {
        if (f.streamed() || (kinds == null ? !byDefault(f, ensemble) : !kinds.contains(f.kind()))) continue;
        if (!f.appliesTo(m, convention) || !convention.writes(f.folder(m))) continue;
        out.add(new OutputColumn(m.folderPrefix(), f.kind(), convention.folder(f, m), convention.suffix(f, m)));
      }
    }
    if (kinds != null) {
      for (String k : kinds) {
        if (out.stream().noneMatch(c -> c.kind().equals(k))) {
          throw new IllegalArgumentException("--formats " + k + ": not an output of this checkpoint (its maps "
              + maps.stream().map(Modality::cliName).toList() + " have " + OutputColumn.of(maps, convention, null, true)
              .stream().map(OutputColumn::kind).distinct().toList() + " and " + VALUES + ")");
        }
      }
    }
    return out;
  }
}
