package marigold4j.models.clip;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import marigold4j.nn.Linear;
import marigold4j.nn.Module;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * transformers' {@code CLIPVisionModelWithProjection}, GeoWizard's image encoder: a ViT whose normalised class token
 * is projected (no bias) to {@code projection_dim}. Parameters carry the checkpoint's names
 * ({@code vision_model.pre_layrnorm.weight}, {@code visual_projection.weight}, ...).
 */
public final class CLIPVisionModelWithProjection extends Module {
  private final CLIPVisionConfig config;
  private final CLIPVisionTransformer visionModel;
  private final Linear visualProjection;

  /**
   * Everything the vision tower computes.
   *
   * @param imageEmbeds (B, projection_dim)
   * @param lastHiddenState (B, 1 + patches, D): the encoder output (transformers applies post_layernorm only to the
   *     pooled class token)
   * @param hiddenStates the encoder input (embeddings after pre_layrnorm) followed by each layer's output, or an
   *     empty list when not requested
   */
  public record Output(Tensor imageEmbeds, Tensor lastHiddenState, List<Tensor> hiddenStates) {}

  private CLIPVisionModelWithProjection(CLIPVisionConfig config) {
    this.config = config;
    this.visionModel = child("vision_model", new CLIPVisionTransformer(config));
    this.visualProjection = child("visual_projection", new Linear(config.hiddenSize(), config.projectionDim(), false));
  }

  /** The module tree for {@code config}, with empty parameter slots (nothing is allocated). */
  public static CLIPVisionModelWithProjection fromConfig(CLIPVisionConfig config) {
    config.validate();
    return new CLIPVisionModelWithProjection(config);
  }

  /** Loads {@code config.json} and the weights of an {@code image_encoder/} folder in fp32. */
  public static CLIPVisionModelWithProjection load(Path componentDir) {
    return load(componentDir, torch.ScalarType.Float);
  }

  /** Loads {@code config.json} and the weights of an {@code image_encoder/} folder, converted to {@code dtype}. */
  public static CLIPVisionModelWithProjection load(Path componentDir, torch.ScalarType dtype) {
    return CLIPCheckpoints.load(componentDir, dtype, CLIPVisionConfig::read, CLIPVisionModelWithProjection::fromConfig);
  }

  public CLIPVisionConfig config() {
    return config;
  }

  /** pixel_values (B, C, image_size, image_size), already normalised -> image_embeds (B, projection_dim). */
  public Tensor forward(Tensor pixelValues) {
    return visualProjection.forward(visionModel.pool(visionModel.forward(pixelValues, null)));
  }

  /** pixel_values -> image_embeds, last_hidden_state and, if asked, every hidden state. */
  public Output forward(Tensor pixelValues, boolean outputHiddenStates) {
    List<Tensor> hidden = outputHiddenStates ? new ArrayList<>() : null;
    Tensor last = visionModel.forward(pixelValues, hidden);
    Tensor embeds = visualProjection.forward(visionModel.pool(last));
    return new Output(embeds, last, hidden == null ? List.of() : List.copyOf(hidden));
  }
}
