package marigold4j.models;

import java.nio.file.Path;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.models.clip.CLIPTextConfig;
import marigold4j.models.clip.CLIPTextModel;
import marigold4j.models.clip.CLIPVisionConfig;
import marigold4j.models.clip.CLIPVisionModelWithProjection;
import marigold4j.models.unet.UNet2DConditionConfig;
import marigold4j.models.unet.UNet2DConditionModel;
import marigold4j.models.vae.AutoencoderKL;
import marigold4j.models.vae.AutoencoderKLConfig;
import marigold4j.nn.Module;

/**
 * Maps the class names a checkpoint's {@code model_index.json} gives its components to the Java models, and builds
 * them from their {@code config.json} alone (no weights).
 */
public final class ComponentModels {
  private ComponentModels() {}

  /** Whether components of this class carry weights the Java models load (tokenizers and schedulers do not). */
  public static boolean hasWeights(String className) {
    return switch (className) {
      case "UNet2DConditionModel", "AutoencoderKL", "CLIPTextModel", "CLIPVisionModelWithProjection" -> true;
      default -> false;
    };
  }

  /**
   * The module of {@code className} described by {@code componentDir/config.json}, with every parameter slot
   * declared and none allocated.
   *
   * @throws CheckpointException for a class marigold4j has no model for, or an unsupported config
   */
  public static Module fromConfig(String className, Path componentDir) {
    Path config = componentDir.resolve("config.json");
    return switch (className) {
      case "UNet2DConditionModel" -> UNet2DConditionModel.fromConfig(UNet2DConditionConfig.read(config));
      case "AutoencoderKL" -> new AutoencoderKL(AutoencoderKLConfig.read(config));
      case "CLIPTextModel" -> CLIPTextModel.fromConfig(CLIPTextConfig.read(config));
      case "CLIPVisionModelWithProjection" -> CLIPVisionModelWithProjection.fromConfig(CLIPVisionConfig.read(config));
      default -> throw new CheckpointException(componentDir, "component class '" + className
          + "' has no marigold4j model (supported: UNet2DConditionModel, AutoencoderKL, CLIPTextModel, "
          + "CLIPVisionModelWithProjection)");
    };
  }
}
