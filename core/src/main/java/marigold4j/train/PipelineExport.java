package marigold4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ConfigJson;
import marigold4j.models.unet.UNet2DConditionModel;
import marigold4j.weights.SafeTensors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The folder the training saves at the end: for train.py a {@code StableDiffusionPipeline}
 * ({@code model_index.json}, the trained {@code unet/}, the base's {@code vae/}, {@code text_encoder/} and
 * {@code tokenizer/}), for GeoWizard's train_depth_normal.py a {@code DepthNormalEstimationPipeline} (the trained
 * {@code unet/}, the base's {@code vae/}, {@code image_encoder/} and {@code feature_extractor/}); both with a
 * {@code DDPMScheduler} config with {@code timestep_spacing: "trailing"}. marigold4j's pipelines and the original
 * Python code load them.
 */
public final class PipelineExport {
  private static final Logger LOG = LoggerFactory.getLogger(PipelineExport.class);
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  /** The diffusers version whose file layout this reproduces. */
  static final String DIFFUSERS_VERSION = "0.30.2";

  private PipelineExport() {}

  /**
   * Writes the pipeline into {@code outputDir} (which may already hold checkpoints and logs).
   *
   * @param base the base checkpoint the run started from (components are copied from it)
   * @param nameOrPath recorded as {@code _name_or_path}, as diffusers records the base's id or path
   */
  public static void write(Path base, Path outputDir, E2EFTModel model, String nameOrPath) {
    write(base, outputDir, model, List.of("vae", "text_encoder", "tokenizer"), modelIndex(base, nameOrPath),
        nameOrPath);
  }

  /**
   * Writes the GeoWizard pipeline ({@code DepthNormalEstimationPipeline.save_pretrained}) into {@code outputDir}:
   * what {@link marigold4j.pipeline.GeoWizardPipeline} loads.
   *
   * @param base the GeoWizard checkpoint the run started from (vae, image encoder, feature extractor copied from it)
   * @param nameOrPath recorded as {@code _name_or_path}
   */
  public static void writeGeoWizard(Path base, Path outputDir, GeoWizardE2EFTModel model, String nameOrPath) {
    write(base, outputDir, model, List.of("vae", "image_encoder", "feature_extractor"),
        geoWizardModelIndex(base, nameOrPath), nameOrPath);
  }

  private static void write(Path base, Path outputDir, E2EFTTrainable model, List<String> copied,
      ObjectNode modelIndex, String nameOrPath) {
    try {
      Files.createDirectories(outputDir);
      for (String component : copied) copyTree(base.resolve(component), outputDir.resolve(component));
      writeScheduler(base, outputDir.resolve("scheduler"));
      Path unetDir = Files.createDirectories(outputDir.resolve("unet"));
      ObjectNode unetConfig = model.unetConfigJson();
      unetConfig.put("_name_or_path", nameOrPath);
      writeJson(unetDir.resolve("config.json"), sorted(unetConfig));
      SafeTensors.save(unetDir.resolve(UNet2DConditionModel.WEIGHTS_FILE), TrainingCheckpoints.unetStateDict(model),
          null);
      writeJson(outputDir.resolve("model_index.json"), modelIndex);
      LOG.info("saved the fine-tuned pipeline to {}", outputDir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the pipeline to " + outputDir + ": " + e.getMessage(), e);
    }
  }

  /** diffusers' DDPMScheduler config from the base's scheduler config, with trailing timestep spacing. */
  static ObjectNode schedulerConfig(Path base) {
    ObjectNode cfg = readObject(base.resolve("scheduler").resolve("scheduler_config.json"));
    cfg.put("_class_name", "DDPMScheduler");
    cfg.put("_diffusers_version", DIFFUSERS_VERSION);
    // DDPMScheduler.__init__ defaults for keys a DDIM config lacks; keys only DDIM knows are kept, as diffusers does
    putIfAbsent(cfg, "num_train_timesteps", NODES.numberNode(1000));
    putIfAbsent(cfg, "beta_start", NODES.numberNode(0.0001));
    putIfAbsent(cfg, "beta_end", NODES.numberNode(0.02));
    putIfAbsent(cfg, "beta_schedule", NODES.textNode("linear"));
    putIfAbsent(cfg, "trained_betas", NODES.nullNode());
    putIfAbsent(cfg, "variance_type", NODES.textNode("fixed_small"));
    putIfAbsent(cfg, "clip_sample", NODES.booleanNode(true));
    putIfAbsent(cfg, "prediction_type", NODES.textNode("epsilon"));
    putIfAbsent(cfg, "thresholding", NODES.booleanNode(false));
    putIfAbsent(cfg, "dynamic_thresholding_ratio", NODES.numberNode(0.995));
    putIfAbsent(cfg, "clip_sample_range", NODES.numberNode(1.0));
    putIfAbsent(cfg, "sample_max_value", NODES.numberNode(1.0));
    putIfAbsent(cfg, "steps_offset", NODES.numberNode(0));
    putIfAbsent(cfg, "rescale_betas_zero_snr", NODES.booleanNode(false));
    // the point of saving it again: inference from t = 999 in one step
    cfg.put("timestep_spacing", "trailing");
    return sorted(cfg);
  }

  private static void writeScheduler(Path base, Path dir) throws IOException {
    Files.createDirectories(dir);
    writeJson(dir.resolve("scheduler_config.json"), schedulerConfig(base));
  }

  /** A StableDiffusionPipeline model_index.json, as train.py's final save_pretrained writes it. */
  static ObjectNode modelIndex(Path base, String nameOrPath) {
    JsonNode baseIndex = readObject(base.resolve("model_index.json"));
    ObjectNode o = NODES.objectNode();
    o.put("_class_name", "StableDiffusionPipeline");
    o.put("_diffusers_version", DIFFUSERS_VERSION);
    o.put("_name_or_path", nameOrPath);
    o.set("feature_extractor", pair(null, null));
    o.set("image_encoder", pair(null, null));
    // a base without the key (e.g. a MarigoldPipeline) gets StableDiffusionPipeline's default, true
    o.put("requires_safety_checker", baseIndex.path("requires_safety_checker").asBoolean(true));
    o.set("safety_checker", pair(null, null));
    o.set("scheduler", pair("diffusers", "DDPMScheduler"));
    o.set("text_encoder", pair("transformers", "CLIPTextModel"));
    o.set("tokenizer", pair("transformers", "CLIPTokenizer"));
    o.set("unet", pair("diffusers", "UNet2DConditionModel"));
    o.set("vae", pair("diffusers", "AutoencoderKL"));
    return o;
  }

  /**
   * A {@code DepthNormalEstimationPipeline} model_index.json. The UNet's entry (GeoWizard's own UNet class, named by
   * its Python module) is the base's; without one it is the module the original training script imports.
   */
  static ObjectNode geoWizardModelIndex(Path base, String nameOrPath) {
    JsonNode baseIndex = Files.isRegularFile(base.resolve("model_index.json"))
        ? readObject(base.resolve("model_index.json")) : NODES.objectNode();
    JsonNode unet = baseIndex.path("unet");
    ObjectNode o = NODES.objectNode();
    o.put("_class_name", "DepthNormalEstimationPipeline");
    o.put("_diffusers_version", DIFFUSERS_VERSION);
    o.put("_name_or_path", nameOrPath);
    o.set("feature_extractor", pair("transformers", "CLIPImageProcessor"));
    o.set("image_encoder", pair("transformers", "CLIPVisionModelWithProjection"));
    o.set("scheduler", pair("diffusers", "DDPMScheduler"));
    o.set("unet", unet.isArray() && unet.size() == 2 ? unet.deepCopy()
        : pair("GeoWizard.geowizard.models.unet_2d_condition", "UNet2DConditionModel"));
    o.set("vae", pair("diffusers", "AutoencoderKL"));
    return o;
  }

  private static ArrayNode pair(String a, String b) {
    ArrayNode n = NODES.arrayNode();
    if (a == null) n.addNull(); else n.add(a);
    if (b == null) n.addNull(); else n.add(b);
    return n;
  }

  private static void putIfAbsent(ObjectNode o, String key, JsonNode value) {
    if (!o.has(key)) o.set(key, value);
  }

  /** Keys in sorted order, as diffusers' to_json_string writes configs. */
  private static ObjectNode sorted(ObjectNode in) {
    Map<String, JsonNode> m = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = in.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      m.put(e.getKey(), e.getValue());
    }
    ObjectNode out = NODES.objectNode();
    m.forEach(out::set);
    return out;
  }

  private static ObjectNode readObject(Path file) {
    try {
      JsonNode n = ConfigJson.mapper().readTree(file.toFile());
      if (n == null || !n.isObject()) throw new CheckpointException(file, "expected a JSON object");
      return (ObjectNode) n;
    } catch (java.io.FileNotFoundException e) {
      throw new CheckpointException(file, "file not found");
    } catch (IOException e) {
      throw new CheckpointException(file, "cannot read: " + e.getMessage(), e);
    }
  }

  private static void writeJson(Path file, JsonNode node) throws IOException {
    Files.writeString(file, JSON.writeValueAsString(node) + "\n");
  }

  private static void copyTree(Path from, Path to) throws IOException {
    if (!Files.isDirectory(from)) throw new CheckpointException(from, "component folder not found");
    List<Path> files = new ArrayList<>();
    try (Stream<Path> s = Files.walk(from)) {
      s.filter(Files::isRegularFile).forEach(files::add);
    }
    for (Path f : files) {
      Path dst = to.resolve(from.relativize(f).toString());
      Files.createDirectories(dst.getParent());
      Files.copy(f, dst, StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
