package marigold4j.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ModelIndex;

/**
 * {@link FileFilter#pipeline}: the files {@code DiffusionPipeline.from_pretrained} reads, and no others.
 *
 * <p>With a {@code model_index.json}, each non-null component folder contributes its configs ({@code *.json} other
 * than shard indexes), tokenizer files ({@code *.txt}, {@code *.model}) and, when it holds a {@code config.json}, the
 * weights {@link marigold4j.weights.WeightFiles} will load: the first of {@code diffusion_pytorch_model.safetensors},
 * {@code model.safetensors}, their shard indexes (with the shards the index lists), then the {@code .bin} files and
 * indexes, for the requested variant first and the full-precision names second. Without a {@code model_index.json}
 * the repository root is treated as one model folder.
 */
final class PipelineFiles implements FileFilter {
  private static final ObjectMapper JSON = new ObjectMapper();
  // (stem, extension) per format, in WeightFiles' order of preference
  private static final String[][][] FAMILIES = {
      {{"diffusion_pytorch_model", "safetensors"}, {"model", "safetensors"}},
      {{"diffusion_pytorch_model", "bin"}, {"pytorch_model", "bin"}}};
  private static final Pattern WEIGHT_INDEX = Pattern.compile(".*\\.(safetensors|bin)\\.index(\\.[^.]+)?\\.json");

  private final String variant;

  PipelineFiles(String variant) {
    if (variant != null && (variant.isBlank() || variant.contains("/") || variant.contains("\\"))) {
      throw new IllegalArgumentException("invalid variant '" + variant + "'");
    }
    this.variant = variant;
  }

  @Override
  public Selection select(List<String> repoFiles, Fetcher fetch) {
    Set<String> all = new LinkedHashSet<>(repoFiles);
    Set<String> out = new LinkedHashSet<>();
    List<String> missing = new ArrayList<>();
    if (all.contains(ModelIndex.FILE)) {
      out.add(ModelIndex.FILE);
      ModelIndex index = ModelIndex.read(fetch.get(ModelIndex.FILE));
      index.components().forEach((name, c) -> {
        if (!c.isNull()) component(name + "/", all, fetch, out, missing);
      });
    } else if (all.contains("config.json")) {
      component("", all, fetch, out, missing);
    } else {
      missing.add(ModelIndex.FILE + " (or a config.json for a single model)");
    }
    return new Selection(out, missing);
  }

  private void component(String prefix, Set<String> all, Fetcher fetch, Set<String> out, List<String> missing) {
    Set<String> names = new TreeSet<>();  // the folder's own files, not those of sub-folders
    for (String f : all) {
      if (f.startsWith(prefix) && f.indexOf('/', prefix.length()) < 0) names.add(f.substring(prefix.length()));
    }
    String where = prefix.isEmpty() ? "the repository root" : prefix;
    if (names.isEmpty()) {
      missing.add(where + " (component folder)");
      return;
    }
    boolean anyConfig = false;
    for (String n : names) {
      boolean config = n.endsWith(".json") && !WEIGHT_INDEX.matcher(n).matches();
      if (config || n.endsWith(".txt") || n.endsWith(".model")) out.add(prefix + n);
      anyConfig |= config;
    }
    if (!anyConfig) missing.add(where + ": a config file (*.json)");
    if (!names.contains("config.json")) return;  // schedulers, tokenizers, image processors carry no weights

    List<String> lookedFor = new ArrayList<>();
    List<String> weights = variant == null ? null : weights(prefix, variant, names, fetch, lookedFor);
    if (weights == null) weights = weights(prefix, null, names, fetch, lookedFor);
    if (weights == null) {
      missing.add(where + ": weights (" + String.join(", ", new LinkedHashSet<>(lookedFor)) + ")");
    } else {
      for (String w : weights) {
        if (!names.contains(w.substring(prefix.length()))) missing.add(w + " (a shard its index lists)");
        else out.add(w);
      }
    }
  }

  /** The first weight file (or shard index + shards) present for {@code variant}, or null. */
  private static List<String> weights(String prefix, String variant, Set<String> names, Fetcher fetch,
      List<String> lookedFor) {
    for (String[][] family : FAMILIES) {
      for (String[] c : family) {
        String single = withVariant(c[0] + "." + c[1], variant);
        lookedFor.add(single);
        if (names.contains(single)) return List.of(prefix + single);
      }
      for (String[] c : family) {
        String index = withVariant(c[0] + "." + c[1] + ".index.json", variant);
        lookedFor.add(index);
        if (names.contains(index)) {
          List<String> files = new ArrayList<>();
          files.add(prefix + index);
          for (String shard : shards(prefix + index, fetch)) files.add(prefix + shard);
          return files;
        }
      }
    }
    return null;
  }

  /** The shard file names an index's {@code weight_map} lists, sorted, each once. */
  private static Set<String> shards(String indexFile, Fetcher fetch) {
    var path = fetch.get(indexFile);
    JsonNode wm;
    try {
      wm = JSON.readTree(path.toFile()).get("weight_map");
    } catch (IOException e) {
      throw new CheckpointException(path, "invalid JSON: " + e.getMessage(), e);
    }
    if (wm == null || !wm.isObject() || wm.isEmpty()) {
      throw new CheckpointException(path, "no weight_map object in the shard index");
    }
    Set<String> shards = new TreeSet<>();
    for (JsonNode v : wm) {
      String s = v.asText("");
      // shard names are plain file names next to the index; anything else could point outside the snapshot
      if (!v.isTextual() || s.isEmpty() || s.contains("/") || s.contains("\\") || s.equals(".") || s.equals("..")) {
        throw new CheckpointException(path, "invalid shard name " + v);
      }
      shards.add(s);
    }
    return shards;
  }

  /** diffusers' / transformers' spelling: the variant goes before the last extension. */
  private static String withVariant(String name, String variant) {
    if (variant == null) return name;
    int dot = name.lastIndexOf('.');
    return name.substring(0, dot) + "." + variant + name.substring(dot);
  }

  @Override
  public String toString() {
    return variant == null ? "pipeline files" : "pipeline files (" + variant + " weights)";
  }
}
