package marigold4j.models.clip;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ConfigJson;

/**
 * An {@code image_encoder/config.json} ({@code CLIPVisionConfig} of transformers 4.37.2). Absent keys take
 * transformers' defaults.
 */
public record CLIPVisionConfig(
    @JsonProperty("hidden_size") Integer hiddenSize,
    @JsonProperty("intermediate_size") Integer intermediateSize,
    @JsonProperty("projection_dim") Integer projectionDim,
    @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
    @JsonProperty("num_attention_heads") Integer numAttentionHeads,
    @JsonProperty("num_channels") Integer numChannels,
    @JsonProperty("image_size") Integer imageSize,
    @JsonProperty("patch_size") Integer patchSize,
    @JsonProperty("hidden_act") String hiddenAct,
    @JsonProperty("layer_norm_eps") Double layerNormEps) {

  public CLIPVisionConfig {
    hiddenSize = hiddenSize == null ? 768 : hiddenSize;
    intermediateSize = intermediateSize == null ? 3072 : intermediateSize;
    projectionDim = projectionDim == null ? 512 : projectionDim;
    numHiddenLayers = numHiddenLayers == null ? 12 : numHiddenLayers;
    numAttentionHeads = numAttentionHeads == null ? 12 : numAttentionHeads;
    numChannels = numChannels == null ? 3 : numChannels;
    imageSize = imageSize == null ? 224 : imageSize;
    patchSize = patchSize == null ? 32 : patchSize;
    hiddenAct = hiddenAct == null ? "quick_gelu" : hiddenAct;
    layerNormEps = layerNormEps == null ? 1e-5 : layerNormEps;
  }

  /** Reads {@code config.json}. */
  public static CLIPVisionConfig read(Path configFile) {
    return ConfigJson.read(configFile, CLIPVisionConfig.class);
  }

  /** Patches per side of the (square) input image. */
  public int gridSize() {
    return imageSize / patchSize;
  }

  CLIPActivation activation() {
    return CLIPActivation.fromConfig(hiddenAct);
  }

  /** Refuses configurations the model cannot be built from, naming the offending key. */
  void validate() {
    activation();
    checkHeads(hiddenSize, numAttentionHeads);
    if (patchSize <= 0 || imageSize < patchSize) {
      throw new CheckpointException("config keys 'image_size' " + imageSize + " / 'patch_size' " + patchSize
          + ": need at least one patch");
    }
  }

  static void checkHeads(int hiddenSize, int heads) {
    if (heads <= 0 || hiddenSize % heads != 0) {
      throw new CheckpointException("config key 'num_attention_heads': " + heads + " does not divide hidden_size "
          + hiddenSize);
    }
  }
}
