package marigold4j.models.unet;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.node.TextNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ConfigJson;

/**
 * {@code unet/config.json} of a {@code UNet2DConditionModel} (diffusers 0.30.2), restricted to what the Stable
 * Diffusion 2 / Marigold / E2E-FT family and GeoWizard use. Absent keys take diffusers' defaults;
 * {@link #validate(String)} rejects every value this implementation does not reproduce, naming the key.
 *
 * <p>GeoWizard's UNet (its own {@code geowizard.models.unet_2d_condition.UNet2DConditionModel}, saved under the same
 * {@code _class_name}) has the same configuration keys; it differs by {@code class_embed_type: "projection"} with a
 * {@code projection_class_embeddings_input_dim} (10: the depth/normal and domain switch, see
 * {@link #hasProjectionClassEmbedding()}).
 *
 * <p>Per-block keys ({@code attention_head_dim}, {@code layers_per_block}, {@code cross_attention_dim}, ...) may be a
 * single value or a list, as in diffusers. {@code attention_head_dim} is, despite its name, the <em>number of
 * heads</em> of each block (a diffusers legacy quirk; {@code num_attention_heads} must be absent); the head size is
 * the block's channel count divided by it.
 */
public record UNet2DConditionConfig(
    @JsonProperty("sample_size") JsonNode sampleSize,
    @JsonProperty("in_channels") Integer inChannels,
    @JsonProperty("out_channels") Integer outChannels,
    @JsonProperty("center_input_sample") Boolean centerInputSample,
    @JsonProperty("flip_sin_to_cos") Boolean flipSinToCos,
    @JsonProperty("freq_shift") Double freqShift,
    @JsonProperty("down_block_types") List<String> downBlockTypes,
    // A tree, not a String: an explicit null (NullNode) means "no mid block" in diffusers, unlike an absent key.
    @JsonProperty("mid_block_type") JsonNode midBlockType,
    @JsonProperty("up_block_types") List<String> upBlockTypes,
    @JsonProperty("only_cross_attention") List<Boolean> onlyCrossAttention,
    @JsonProperty("block_out_channels") List<Integer> blockOutChannels,
    @JsonProperty("layers_per_block") List<Integer> layersPerBlock,
    @JsonProperty("downsample_padding") Integer downsamplePadding,
    @JsonProperty("mid_block_scale_factor") Double midBlockScaleFactor,
    @JsonProperty("dropout") Double dropout,
    @JsonProperty("act_fn") String actFn,
    @JsonProperty("norm_num_groups") Integer normNumGroups,
    @JsonProperty("norm_eps") Double normEps,
    @JsonProperty("cross_attention_dim") List<Integer> crossAttentionDim,
    @JsonProperty("transformer_layers_per_block") List<Integer> transformerLayersPerBlock,
    @JsonProperty("reverse_transformer_layers_per_block") JsonNode reverseTransformerLayersPerBlock,
    @JsonProperty("encoder_hid_dim") Integer encoderHidDim,
    @JsonProperty("encoder_hid_dim_type") String encoderHidDimType,
    @JsonProperty("attention_head_dim") List<Integer> attentionHeadDim,
    @JsonProperty("num_attention_heads") JsonNode numAttentionHeads,
    @JsonProperty("dual_cross_attention") Boolean dualCrossAttention,
    @JsonProperty("use_linear_projection") Boolean useLinearProjection,
    @JsonProperty("class_embed_type") String classEmbedType,
    @JsonProperty("addition_embed_type") String additionEmbedType,
    @JsonProperty("addition_time_embed_dim") Integer additionTimeEmbedDim,
    @JsonProperty("num_class_embeds") Integer numClassEmbeds,
    @JsonProperty("upcast_attention") Boolean upcastAttention,
    @JsonProperty("resnet_time_scale_shift") String resnetTimeScaleShift,
    @JsonProperty("resnet_skip_time_act") Boolean resnetSkipTimeAct,
    @JsonProperty("resnet_out_scale_factor") Double resnetOutScaleFactor,
    @JsonProperty("time_embedding_type") String timeEmbeddingType,
    @JsonProperty("time_embedding_dim") Integer timeEmbeddingDim,
    @JsonProperty("time_embedding_act_fn") String timeEmbeddingActFn,
    @JsonProperty("timestep_post_act") String timestepPostAct,
    @JsonProperty("time_cond_proj_dim") Integer timeCondProjDim,
    @JsonProperty("conv_in_kernel") Integer convInKernel,
    @JsonProperty("conv_out_kernel") Integer convOutKernel,
    @JsonProperty("projection_class_embeddings_input_dim") Integer projectionClassEmbeddingsInputDim,
    @JsonProperty("attention_type") String attentionType,
    @JsonProperty("class_embeddings_concat") Boolean classEmbeddingsConcat,
    @JsonProperty("mid_block_only_cross_attention") Boolean midBlockOnlyCrossAttention,
    @JsonProperty("cross_attention_norm") String crossAttentionNorm) {

  /** The one {@code class_embed_type} this implementation builds (GeoWizard's), besides none. */
  public static final String PROJECTION_CLASS_EMBEDDING = "projection";
  /** Down block types this implementation builds. */
  public static final Set<String> DOWN_BLOCK_TYPES = Set.of("CrossAttnDownBlock2D", "DownBlock2D");
  /** Up block types this implementation builds. */
  public static final Set<String> UP_BLOCK_TYPES = Set.of("UpBlock2D", "CrossAttnUpBlock2D");
  /** The one mid block type this implementation builds. */
  public static final String MID_BLOCK_TYPE = "UNetMidBlock2DCrossAttn";

  /** Fills absent keys with diffusers' {@code UNet2DConditionModel.__init__} defaults. */
  public UNet2DConditionConfig {
    inChannels = or(inChannels, 4);
    outChannels = or(outChannels, 4);
    centerInputSample = or(centerInputSample, false);
    flipSinToCos = or(flipSinToCos, true);
    freqShift = or(freqShift, 0.0);
    downBlockTypes = or(downBlockTypes,
        List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"));
    midBlockType = or(midBlockType, TextNode.valueOf(MID_BLOCK_TYPE));
    upBlockTypes = or(upBlockTypes,
        List.of("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"));
    onlyCrossAttention = or(onlyCrossAttention, List.of(false));
    blockOutChannels = or(blockOutChannels, List.of(320, 640, 1280, 1280));
    layersPerBlock = or(layersPerBlock, List.of(2));
    downsamplePadding = or(downsamplePadding, 1);
    midBlockScaleFactor = or(midBlockScaleFactor, 1.0);
    dropout = or(dropout, 0.0);
    actFn = or(actFn, "silu");
    normNumGroups = or(normNumGroups, 32);
    normEps = or(normEps, 1e-5);
    crossAttentionDim = or(crossAttentionDim, List.of(1280));
    transformerLayersPerBlock = or(transformerLayersPerBlock, List.of(1));
    attentionHeadDim = or(attentionHeadDim, List.of(8));
    dualCrossAttention = or(dualCrossAttention, false);
    useLinearProjection = or(useLinearProjection, false);
    upcastAttention = or(upcastAttention, false);
    resnetTimeScaleShift = or(resnetTimeScaleShift, "default");
    resnetSkipTimeAct = or(resnetSkipTimeAct, false);
    resnetOutScaleFactor = or(resnetOutScaleFactor, 1.0);
    timeEmbeddingType = or(timeEmbeddingType, "positional");
    convInKernel = or(convInKernel, 3);
    convOutKernel = or(convOutKernel, 3);
    attentionType = or(attentionType, "default");
    classEmbeddingsConcat = or(classEmbeddingsConcat, false);
  }

  private static <T> T or(T value, T fallback) {
    return value == null ? fallback : value;
  }

  /** Reads and validates a {@code config.json}; errors name the file and the key. */
  public static UNet2DConditionConfig read(Path configJson) {
    UNet2DConditionConfig c = ConfigJson.read(configJson, UNet2DConditionConfig.class);
    c.validate(configJson.toString());
    return c;
  }

  /**
   * Parses and validates a config given as a JSON tree (for example the {@code config} object of a state-dict
   * manifest).
   *
   * @param source named in error messages
   */
  public static UNet2DConditionConfig fromJson(JsonNode json, String source) {
    UNet2DConditionConfig c;
    try {
      c = ConfigJson.mapper().treeToValue(json, UNet2DConditionConfig.class);
    } catch (MismatchedInputException e) {
      throw new CheckpointException(source + ": " + ConfigJson.keyOf(e) + e.getOriginalMessage());
    } catch (JsonProcessingException e) {
      throw new CheckpointException(source + ": invalid config: " + e.getOriginalMessage(), e);
    }
    c.validate(source);
    return c;
  }

  /**
   * Checks that every option has a value this implementation reproduces exactly.
   *
   * @param source the config file (or other origin) named in the error message
   * @throws CheckpointException naming the first unsupported key and its value
   */
  public void validate(String source) {
    int n = blockOutChannels.size();
    require(n > 0, source, "block_out_channels", blockOutChannels, "at least one block");
    require(downBlockTypes.size() == n, source, "down_block_types", downBlockTypes,
        "as many entries as block_out_channels (" + n + ")");
    require(upBlockTypes.size() == n, source, "up_block_types", upBlockTypes,
        "as many entries as block_out_channels (" + n + ")");
    for (String t : downBlockTypes) {
      require(DOWN_BLOCK_TYPES.contains(t), source, "down_block_types", t, "one of " + DOWN_BLOCK_TYPES);
    }
    for (String t : upBlockTypes) {
      require(UP_BLOCK_TYPES.contains(t), source, "up_block_types", t, "one of " + UP_BLOCK_TYPES);
    }
    require(MID_BLOCK_TYPE.equals(midBlockType.textValue()), source, "mid_block_type", midBlockType, MID_BLOCK_TYPE);
    perBlock(source, "attention_head_dim", attentionHeadDim, n);
    perBlock(source, "layers_per_block", layersPerBlock, n);
    perBlock(source, "cross_attention_dim", crossAttentionDim, n);
    perBlock(source, "transformer_layers_per_block", transformerLayersPerBlock, n);
    for (Integer t : transformerLayersPerBlock) {
      require(t == 1, source, "transformer_layers_per_block", transformerLayersPerBlock, "1");
    }
    require(onlyCrossAttention.size() == 1 || onlyCrossAttention.size() == n, source, "only_cross_attention",
        onlyCrossAttention, "false");
    for (Boolean b : onlyCrossAttention) require(!b, source, "only_cross_attention", onlyCrossAttention, "false");
    require(numAttentionHeads == null || numAttentionHeads.isNull(), source, "num_attention_heads", numAttentionHeads,
        "null (attention_head_dim gives the number of heads)");
    require(normNumGroups > 0, source, "norm_num_groups", normNumGroups, "a positive group count");
    require(inChannels > 0, source, "in_channels", inChannels, "a positive channel count");
    require(outChannels > 0, source, "out_channels", outChannels, "a positive channel count");
    for (int i = 0; i < n; i++) {
      int channels = blockOutChannels.get(i);
      require(channels > 0 && channels % normNumGroups == 0, source, "block_out_channels", blockOutChannels,
          "positive multiples of norm_num_groups (" + normNumGroups + ")");
      require(attentionHeads(i) > 0 && channels % attentionHeads(i) == 0, source, "attention_head_dim",
          attentionHeadDim, "head counts dividing each block's channels " + blockOutChannels);
      require(layersPerBlock(i) > 0, source, "layers_per_block", layersPerBlock, "positive layer counts");
    }
    require(!centerInputSample, source, "center_input_sample", centerInputSample, "false");
    require(downsamplePadding == 1, source, "downsample_padding", downsamplePadding, "1");
    require(midBlockScaleFactor == 1.0, source, "mid_block_scale_factor", midBlockScaleFactor, "1");
    require("silu".equals(actFn), source, "act_fn", actFn, "silu");
    require(reverseTransformerLayersPerBlock == null || reverseTransformerLayersPerBlock.isNull(), source,
        "reverse_transformer_layers_per_block", reverseTransformerLayersPerBlock, "null");
    require(encoderHidDim == null, source, "encoder_hid_dim", encoderHidDim, "null");
    require(encoderHidDimType == null, source, "encoder_hid_dim_type", encoderHidDimType, "null");
    require(!dualCrossAttention, source, "dual_cross_attention", dualCrossAttention, "false");
    require(classEmbedType == null || PROJECTION_CLASS_EMBEDDING.equals(classEmbedType), source, "class_embed_type",
        classEmbedType, "null or \"" + PROJECTION_CLASS_EMBEDDING + "\"");
    require(additionEmbedType == null, source, "addition_embed_type", additionEmbedType, "null");
    require(additionTimeEmbedDim == null, source, "addition_time_embed_dim", additionTimeEmbedDim, "null");
    require(numClassEmbeds == null, source, "num_class_embeds", numClassEmbeds, "null");
    require("default".equals(resnetTimeScaleShift), source, "resnet_time_scale_shift", resnetTimeScaleShift,
        "default");
    require(!resnetSkipTimeAct, source, "resnet_skip_time_act", resnetSkipTimeAct, "false");
    require(resnetOutScaleFactor == 1.0, source, "resnet_out_scale_factor", resnetOutScaleFactor, "1.0");
    require("positional".equals(timeEmbeddingType), source, "time_embedding_type", timeEmbeddingType, "positional");
    require(timeEmbeddingDim == null, source, "time_embedding_dim", timeEmbeddingDim, "null");
    require(timeEmbeddingActFn == null, source, "time_embedding_act_fn", timeEmbeddingActFn, "null");
    require(timestepPostAct == null, source, "timestep_post_act", timestepPostAct, "null");
    require(timeCondProjDim == null, source, "time_cond_proj_dim", timeCondProjDim, "null");
    require(convInKernel == 3, source, "conv_in_kernel", convInKernel, "3");
    require(convOutKernel == 3, source, "conv_out_kernel", convOutKernel, "3");
    if (hasProjectionClassEmbedding()) {
      // diffusers raises the same way: the projection's input width cannot be inferred.
      require(projectionClassEmbeddingsInputDim != null && projectionClassEmbeddingsInputDim > 0, source,
          "projection_class_embeddings_input_dim", projectionClassEmbeddingsInputDim,
          "a positive width (class_embed_type \"projection\" requires it)");
    } else {
      require(projectionClassEmbeddingsInputDim == null, source, "projection_class_embeddings_input_dim",
          projectionClassEmbeddingsInputDim, "null (no class_embed_type \"projection\")");
    }
    require("default".equals(attentionType), source, "attention_type", attentionType, "default");
    require(!classEmbeddingsConcat, source, "class_embeddings_concat", classEmbeddingsConcat, "false");
    require(midBlockOnlyCrossAttention == null || !midBlockOnlyCrossAttention, source,
        "mid_block_only_cross_attention", midBlockOnlyCrossAttention, "null or false");
    require(crossAttentionNorm == null, source, "cross_attention_norm", crossAttentionNorm, "null");
  }

  private static void perBlock(String source, String key, List<?> values, int blocks) {
    require(values.size() == 1 || values.size() == blocks, source, key, values,
        "one value or one per block (" + blocks + ")");
    for (Object v : values) require(v != null, source, key, values, "no null entries");
  }

  private static void require(boolean ok, String source, String key, Object value, String expected) {
    if (!ok) {
      throw new CheckpointException(source + ": unsupported UNet2DConditionModel config: key '" + key + "' is "
          + Objects.toString(value) + ", expected " + expected);
    }
  }

  private static int pick(List<Integer> values, int block) {
    return values.size() == 1 ? values.get(0) : values.get(block);
  }

  /** Number of down (and up) blocks. */
  public int numBlocks() {
    return blockOutChannels.size();
  }

  /** Output channels of down block {@code block}. */
  public int blockOutChannels(int block) {
    return blockOutChannels.get(block);
  }

  /** Attention heads of down block {@code block} ({@code attention_head_dim}, see the class comment). */
  public int attentionHeads(int block) {
    return pick(attentionHeadDim, block);
  }

  /** Resnet count of down block {@code block} (its up counterpart has one more). */
  public int layersPerBlock(int block) {
    return pick(layersPerBlock, block);
  }

  /** Width of the encoder hidden states seen by down block {@code block}. */
  public int crossAttentionDim(int block) {
    return pick(crossAttentionDim, block);
  }

  /** Transformer layers in each {@code Transformer2DModel} of down block {@code block}. */
  public int transformerLayersPerBlock(int block) {
    return pick(transformerLayersPerBlock, block);
  }

  /**
   * Whether the model has a {@code class_embedding} (Linear-SiLU-Linear from
   * {@code projection_class_embeddings_input_dim} to {@link #timeEmbedDim()}) whose output is added to the time
   * embedding, as GeoWizard's UNet does.
   */
  public boolean hasProjectionClassEmbedding() {
    return PROJECTION_CLASS_EMBEDDING.equals(classEmbedType);
  }

  /** Width of the time embedding: 4 x the first block's channels. */
  public int timeEmbedDim() {
    return blockOutChannels.get(0) * 4;
  }
}
