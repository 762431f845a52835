package marigold4j.models.vae;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import java.util.List;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ConfigJson;

/**
 * The {@code config.json} of a diffusers {@code AutoencoderKL} (0.30.2). Keys absent from the file take diffusers'
 * defaults, so configs written by older releases (without {@code use_quant_conv}, {@code force_upcast}, ...) read
 * the way diffusers reads them.
 *
 * <p>{@code shift_factor}, {@code latents_mean}, {@code latents_std} and {@code force_upcast} are kept for the
 * pipelines; the model itself does not use them.
 */
public record AutoencoderKLConfig(
    int inChannels,
    int outChannels,
    List<String> downBlockTypes,
    List<String> upBlockTypes,
    List<Integer> blockOutChannels,
    int layersPerBlock,
    String actFn,
    int latentChannels,
    int normNumGroups,
    int sampleSize,
    double scalingFactor,
    Double shiftFactor,
    List<Double> latentsMean,
    List<Double> latentsStd,
    boolean forceUpcast,
    boolean useQuantConv,
    boolean usePostQuantConv,
    boolean midBlockAddAttention) {

  static final String DOWN_BLOCK = "DownEncoderBlock2D";
  static final String UP_BLOCK = "UpDecoderBlock2D";

  public AutoencoderKLConfig {
    downBlockTypes = List.copyOf(downBlockTypes);
    upBlockTypes = List.copyOf(upBlockTypes);
    blockOutChannels = List.copyOf(blockOutChannels);
    latentsMean = latentsMean == null ? null : List.copyOf(latentsMean);
    latentsStd = latentsStd == null ? null : List.copyOf(latentsStd);
  }

  /** Jackson's entry point: absent keys (null here) get diffusers' {@code AutoencoderKL.__init__} defaults. */
  @JsonCreator
  static AutoencoderKLConfig fromJson(
      @JsonProperty("in_channels") Integer inChannels,
      @JsonProperty("out_channels") Integer outChannels,
      @JsonProperty("down_block_types") List<String> downBlockTypes,
      @JsonProperty("up_block_types") List<String> upBlockTypes,
      @JsonProperty("block_out_channels") List<Integer> blockOutChannels,
      @JsonProperty("layers_per_block") Integer layersPerBlock,
      @JsonProperty("act_fn") String actFn,
      @JsonProperty("latent_channels") Integer latentChannels,
      @JsonProperty("norm_num_groups") Integer normNumGroups,
      @JsonProperty("sample_size") Integer sampleSize,
      @JsonProperty("scaling_factor") Double scalingFactor,
      @JsonProperty("shift_factor") Double shiftFactor,
      @JsonProperty("latents_mean") List<Double> latentsMean,
      @JsonProperty("latents_std") List<Double> latentsStd,
      @JsonProperty("force_upcast") Boolean forceUpcast,
      @JsonProperty("use_quant_conv") Boolean useQuantConv,
      @JsonProperty("use_post_quant_conv") Boolean usePostQuantConv,
      @JsonProperty("mid_block_add_attention") Boolean midBlockAddAttention) {
    return new AutoencoderKLConfig(
        or(inChannels, 3),
        or(outChannels, 3),
        or(downBlockTypes, List.of(DOWN_BLOCK)),
        or(upBlockTypes, List.of(UP_BLOCK)),
        or(blockOutChannels, List.of(64)),
        or(layersPerBlock, 1),
        or(actFn, "silu"),
        or(latentChannels, 4),
        or(normNumGroups, 32),
        or(sampleSize, 32),
        or(scalingFactor, 0.18215),
        shiftFactor,
        latentsMean,
        latentsStd,
        or(forceUpcast, true),
        or(useQuantConv, true),
        or(usePostQuantConv, true),
        or(midBlockAddAttention, true));
  }

  private static <T> T or(T value, T fallback) {
    return value == null ? fallback : value;
  }

  /** Reads and validates {@code config.json}. */
  public static AutoencoderKLConfig read(Path configJson) {
    AutoencoderKLConfig c = ConfigJson.read(configJson, AutoencoderKLConfig.class);
    c.validate(configJson);
    return c;
  }

  /**
   * Rejects values this implementation does not support (or that cannot form a model), naming the key and
   * {@code source}.
   */
  public void validate(Path source) {
    if (blockOutChannels.isEmpty()) fail(source, "block_out_channels", "is empty");
    for (int i = 0; i < blockOutChannels.size(); i++) {
      Integer ch = blockOutChannels.get(i);
      if (ch == null || ch <= 0) fail(source, "block_out_channels", "entry " + i + " is " + ch);
      if (ch % normNumGroups != 0) {
        fail(source, "norm_num_groups", normNumGroups + " does not divide block_out_channels[" + i + "] = " + ch);
      }
    }
    checkTypes(source, "down_block_types", downBlockTypes, DOWN_BLOCK);
    checkTypes(source, "up_block_types", upBlockTypes, UP_BLOCK);
    if (!"silu".equals(actFn)) fail(source, "act_fn", "'" + actFn + "' is not supported (only silu)");
    if (inChannels <= 0) fail(source, "in_channels", "must be positive, is " + inChannels);
    if (outChannels <= 0) fail(source, "out_channels", "must be positive, is " + outChannels);
    if (latentChannels <= 0) fail(source, "latent_channels", "must be positive, is " + latentChannels);
    if (layersPerBlock <= 0) fail(source, "layers_per_block", "must be positive, is " + layersPerBlock);
    if (normNumGroups <= 0) fail(source, "norm_num_groups", "must be positive, is " + normNumGroups);
    if (!(scalingFactor > 0) || Double.isInfinite(scalingFactor)) {
      fail(source, "scaling_factor", "must be a positive number, is " + scalingFactor);
    }
  }

  private void checkTypes(Path source, String key, List<String> types, String supported) {
    if (types.size() != blockOutChannels.size()) {
      fail(source, key, "has " + types.size() + " entries but block_out_channels has " + blockOutChannels.size());
    }
    for (String t : types) {
      if (!supported.equals(t)) fail(source, key, "block type '" + t + "' is not supported (only " + supported + ")");
    }
  }

  private static void fail(Path source, String key, String problem) {
    throw new CheckpointException(source, "key '" + key + "': " + problem);
  }

  /** Spatial downsampling factor between image and latent (8 for SD2: 2^(levels - 1)). */
  public int downsamplingFactor() {
    return 1 << (blockOutChannels.size() - 1);
  }
}
