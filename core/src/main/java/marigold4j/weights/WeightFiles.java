package marigold4j.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import marigold4j.nn.Module;
import marigold4j.nn.StateDicts;
import org.bytedeco.pytorch.global.torch;
import java.util.TreeSet;
import marigold4j.checkpoint.CheckpointException;
import org.bytedeco.pytorch.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds and loads the state dict of one checkpoint component folder ({@code unet/}, {@code vae/},
 * {@code text_encoder/}, ...) under the file names diffusers and transformers write.
 *
 * <p>Candidates, first match wins: {@code diffusion_pytorch_model.safetensors}, {@code model.safetensors}, their
 * shard indexes {@code *.safetensors.index.json}, then the pickle files {@code diffusion_pytorch_model.bin},
 * {@code pytorch_model.bin} and their {@code *.bin.index.json} indexes. A precision {@code variant} such as
 * {@code fp16} is spelled as both libraries spell it ({@code diffusion_pytorch_model.fp16.safetensors},
 * {@code model.safetensors.index.fp16.json}); when no variant file exists the non-variant files are used (with a
 * warning). Sharded checkpoints are read through the index's {@code weight_map}.
 */
public final class WeightFiles {
  private static final Logger LOG = LoggerFactory.getLogger(WeightFiles.class);
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  /** (name stem, extension) in order of preference; diffusers' names before transformers' for each format. */
  private static final String[][] SINGLE_SAFETENSORS = {{"diffusion_pytorch_model", "safetensors"}, {"model", "safetensors"}};
  private static final String[][] SINGLE_BIN = {{"diffusion_pytorch_model", "bin"}, {"pytorch_model", "bin"}};

  private WeightFiles() {}

  /**
   * The files {@link #load} would read for {@code componentDir}: one weight file, or the shards an index lists
   * (sorted, each once).
   *
   * @param variant precision variant such as {@code fp16}, or null
   * @throws CheckpointException naming every file name looked for when none exists
   */
  public static List<Path> files(Path componentDir, String variant) {
    return resolve(componentDir, variant).files();
  }

  /**
   * Loads the component's state dict: every tensor with its stored dtype, on the CPU, in file order (shards in
   * the order {@link #files} lists them).
   *
   * @param variant precision variant such as {@code fp16}, or null
   */
  public static Map<String, Tensor> load(Path componentDir, String variant) {
    return load(componentDir, variant, null);
  }

  /**
   * {@link #load(Path, String)} with floating-point tensors converted to {@code floatDtype} (null: as stored); from
   * safetensors files the conversion happens tensor by tensor while reading.
   */
  public static Map<String, Tensor> load(Path componentDir, String variant, torch.ScalarType floatDtype) {
    Resolved r = resolve(componentDir, variant);
    if (r.index() == null) return loadFile(r.files().get(0), floatDtype);
    Map<String, Tensor> out = new LinkedHashMap<>();
    Map<String, Path> origin = new HashMap<>();
    for (Path shard : r.files()) {
      for (Map.Entry<String, Tensor> e : loadFile(shard, floatDtype).entrySet()) {
        Path before = origin.putIfAbsent(e.getKey(), shard);
        if (before != null) {
          throw new CheckpointException(r.index(), "tensor '" + e.getKey() + "' is stored in both " + before.getFileName()
              + " and " + shard.getFileName());
        }
        String listed = r.weightMap().get(e.getKey());
        if (listed == null) {
          LOG.warn("{}: tensor '{}' in {} is not listed in the index", r.index(), e.getKey(), shard.getFileName());
        } else if (!listed.equals(shard.getFileName().toString())) {
          throw new CheckpointException(r.index(), "tensor '" + e.getKey() + "' is listed in " + listed
              + " but found in " + shard.getFileName());
        }
        out.put(e.getKey(), e.getValue());
      }
    }
    List<String> missing = new ArrayList<>();
    for (String key : r.weightMap().keySet()) if (!out.containsKey(key)) missing.add(key);
    if (!missing.isEmpty()) {
      throw new CheckpointException(r.index(), missing.size() + " tensor(s) listed in the index are in no shard: "
          + (missing.size() > 10 ? missing.subList(0, 10) + " ..." : missing));
    }
    return out;
  }

  /**
   * Loads the component's weights into {@code model}, strictly (see {@link StateDicts#loadStrict}), converting
   * floating-point tensors to {@code dtype}. The one place every model's {@code load} goes through.
   */
  public static void loadInto(Module model, Path componentDir, String variant, torch.ScalarType dtype) {
    List<Path> files = files(componentDir, variant);
    String source = files.size() == 1 ? files.get(0).toString() : componentDir + " (" + files.size() + " shards)";
    StateDicts.loadStrict(model, load(componentDir, variant, dtype), source, dtype);
  }

  /** Loads one weight file, choosing the reader by its extension ({@code .safetensors}, else torch zip). */
  public static Map<String, Tensor> loadFile(Path file) {
    return loadFile(file, null);
  }

  private static Map<String, Tensor> loadFile(Path file, torch.ScalarType floatDtype) {
    // .bin state dicts are converted afterwards, by StateDicts.loadStrict
    return file.getFileName().toString().endsWith(".safetensors") ? SafeTensors.load(file, floatDtype)
        : TorchBin.load(file);
  }

  /** {@code stem.ext} with the variant spliced in before the last extension, as diffusers' _add_variant does. */
  static String withVariant(String name, String variant) {
    if (variant == null) return name;
    int dot = name.lastIndexOf('.');
    return name.substring(0, dot) + "." + variant + name.substring(dot);
  }

  private record Resolved(List<Path> files, Path index, Map<String, String> weightMap) {}

  private static Resolved resolve(Path dir, String variant) {
    if (!Files.isDirectory(dir)) throw new CheckpointException(dir, "not a directory");
    if (variant != null && (variant.isBlank() || variant.contains("/") || variant.contains("\\"))) {
      throw new IllegalArgumentException("invalid variant '" + variant + "'");
    }
    List<String> lookedFor = new ArrayList<>();
    if (variant != null) {
      Resolved r = find(dir, variant, lookedFor);
      if (r != null) return r;
    }
    Resolved r = find(dir, null, lookedFor);
    if (r == null) {
      throw new CheckpointException(dir, "no weight file found; looked for " + String.join(", ", lookedFor));
    }
    if (variant != null) {
      LOG.warn("{}: no '{}' variant weights, using {}", dir, variant, r.index() != null ? r.index().getFileName()
          : r.files().get(0).getFileName());
    }
    return r;
  }

  private static Resolved find(Path dir, String variant, List<String> lookedFor) {
    for (String[][] family : new String[][][] {SINGLE_SAFETENSORS, SINGLE_BIN}) {
      for (String[] c : family) {
        String single = withVariant(c[0] + "." + c[1], variant);
        lookedFor.add(single);
        if (Files.isRegularFile(dir.resolve(single))) return new Resolved(List.of(dir.resolve(single)), null, Map.of());
      }
      for (String[] c : family) {
        String index = withVariant(c[0] + "." + c[1] + ".index.json", variant);
        lookedFor.add(index);
        if (Files.isRegularFile(dir.resolve(index))) return readIndex(dir, dir.resolve(index));
      }
    }
    return null;
  }

  private static Resolved readIndex(Path dir, Path index) {
    JsonNode root;
    try {
      root = JSON.readTree(index.toFile());
    } catch (IOException e) {
      throw new CheckpointException(index, "invalid JSON: " + e.getMessage(), e);
    }
    JsonNode wm = root == null ? null : root.get("weight_map");
    if (wm == null || !wm.isObject() || wm.isEmpty()) {
      throw new CheckpointException(index, "no weight_map object in the shard index");
    }
    Map<String, String> weightMap = new LinkedHashMap<>();
    TreeSet<String> shards = new TreeSet<>();
    for (var it = wm.fields(); it.hasNext(); ) {
      var e = it.next();
      String shard = e.getValue().asText("");
      // shard names are plain file names next to the index; anything else could point outside the checkpoint
      if (!e.getValue().isTextual() || shard.isEmpty() || shard.contains("/") || shard.contains("\\")
          || shard.equals(".") || shard.equals("..")) {
        throw new CheckpointException(index, "tensor '" + e.getKey() + "' maps to an invalid shard name " + e.getValue());
      }
      weightMap.put(e.getKey(), shard);
      shards.add(shard);
    }
    List<Path> files = new ArrayList<>();
    for (String s : shards) {
      Path p = dir.resolve(s);
      if (!Files.isRegularFile(p)) throw new CheckpointException(index, "shard " + s + " listed in the index is missing");
      files.add(p);
    }
    return new Resolved(List.copyOf(files), index, weightMap);
  }
}
