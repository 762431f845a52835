package marigold4j.models.clip;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ConfigJson;

/**
 * A {@code text_encoder/config.json} ({@code CLIPTextConfig} of transformers 4.37.2). Absent keys take
 * transformers' defaults.
 *
 * @param eosTokenId only decides how the pooled output finds the EOS position: the legacy value 2 (written by old
 *     configs, Stable Diffusion 2's included) means "the largest token id", as transformers does
 */
public record CLIPTextConfig(
    @JsonProperty("vocab_size") Integer vocabSize,
    @JsonProperty("hidden_size") Integer hiddenSize,
    @JsonProperty("intermediate_size") Integer intermediateSize,
    @JsonProperty("projection_dim") Integer projectionDim,
    @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
    @JsonProperty("num_attention_heads") Integer numAttentionHeads,
    @JsonProperty("max_position_embeddings") Integer maxPositionEmbeddings,
    @JsonProperty("hidden_act") String hiddenAct,
    @JsonProperty("layer_norm_eps") Double layerNormEps,
    @JsonProperty("pad_token_id") Integer padTokenId,
    @JsonProperty("bos_token_id") Integer bosTokenId,
    @JsonProperty("eos_token_id") Integer eosTokenId) {

  public CLIPTextConfig {
    vocabSize = vocabSize == null ? 49408 : vocabSize;
    hiddenSize = hiddenSize == null ? 512 : hiddenSize;
    intermediateSize = intermediateSize == null ? 2048 : intermediateSize;
    projectionDim = projectionDim == null ? 512 : projectionDim;
    numHiddenLayers = numHiddenLayers == null ? 12 : numHiddenLayers;
    numAttentionHeads = numAttentionHeads == null ? 8 : numAttentionHeads;
    maxPositionEmbeddings = maxPositionEmbeddings == null ? 77 : maxPositionEmbeddings;
    hiddenAct = hiddenAct == null ? "quick_gelu" : hiddenAct;
    layerNormEps = layerNormEps == null ? 1e-5 : layerNormEps;
    padTokenId = padTokenId == null ? 1 : padTokenId;
    bosTokenId = bosTokenId == null ? 49406 : bosTokenId;
    eosTokenId = eosTokenId == null ? 49407 : eosTokenId;
  }

  /** Reads {@code config.json}. */
  public static CLIPTextConfig read(Path configFile) {
    return ConfigJson.read(configFile, CLIPTextConfig.class);
  }

  /** The activation; refuses values other than gelu and quick_gelu, naming the key. */
  CLIPActivation activation() {
    return CLIPActivation.fromConfig(hiddenAct);
  }

  /** Refuses configurations the model cannot be built from, naming the offending key. */
  void validate() {
    activation();
    CLIPVisionConfig.checkHeads(hiddenSize, numAttentionHeads);
    if (maxPositionEmbeddings <= 0 || vocabSize <= 0 || numHiddenLayers < 0 || intermediateSize <= 0) {
      throw new CheckpointException("config: vocab_size, max_position_embeddings, intermediate_size must be "
          + "positive and num_hidden_layers non-negative");
    }
  }
}
