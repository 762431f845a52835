package marigold4j.models.geowizard;

import java.nio.file.Path;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.models.unet.UNet2DConditionConfig;
import marigold4j.models.unet.UNet2DConditionModel;
import org.bytedeco.pytorch.global.torch;

/**
 * Loads GeoWizard's UNet ({@code geowizard.models.unet_2d_condition.UNet2DConditionModel} of
 * {@code lemonaddie/geowizard} and {@code GonzaloMG/geowizard-e2e-ft}) as GeoWizard's {@code run_infer.py} runs it.
 *
 * <p>The class is diffusers' UNet with the same parameter names, built with {@code class_embed_type "projection"}
 * ({@value GeoWizardConditioning#CLASS_LABEL_DIM}-wide labels from {@link GeoWizardConditioning}) and CLIP image
 * embeddings as its 1-token encoder hidden states. What sets it apart at run time is the self-attention: its
 * transformer blocks' {@code attn1} switch to a joint processor when xformers is enabled, which
 * {@code run_infer.py} always does, so the model returned here has
 * {@link UNet2DConditionModel#setJointSelfAttention(boolean) joint self-attention} on. Its batch must therefore be
 * the [depth, normal] pair (or pairs stacked as two equal halves).
 */
public final class GeoWizardUNet {
  private GeoWizardUNet() {}

  /**
   * Whether a UNet config is GeoWizard's: a projection class embedding taking
   * {@value GeoWizardConditioning#CLASS_LABEL_DIM} values. The file itself names the class
   * {@code UNet2DConditionModel}, like diffusers', so the config's contents are what tells them apart.
   */
  public static boolean isGeoWizard(UNet2DConditionConfig config) {
    return config.hasProjectionClassEmbedding()
        && config.projectionClassEmbeddingsInputDim() == GeoWizardConditioning.CLASS_LABEL_DIM;
  }

  /** {@link #load(Path, torch.ScalarType)} in float32. */
  public static UNet2DConditionModel load(Path unetDir) {
    return load(unetDir, torch.ScalarType.Float);
  }

  /**
   * Loads a GeoWizard {@code unet/} folder strictly and turns on the joint self-attention.
   *
   * @throws CheckpointException if the folder does not hold a GeoWizard UNet, or on any config or key mismatch
   */
  public static UNet2DConditionModel load(Path unetDir, torch.ScalarType dtype) {
    UNet2DConditionConfig config = UNet2DConditionConfig.read(unetDir.resolve("config.json"));
    if (!isGeoWizard(config)) {
      throw new CheckpointException(unetDir.resolve("config.json"), "not a GeoWizard UNet: expected class_embed_type "
          + "\"projection\" with projection_class_embeddings_input_dim " + GeoWizardConditioning.CLASS_LABEL_DIM
          + ", got " + config.classEmbedType() + " / " + config.projectionClassEmbeddingsInputDim());
    }
    UNet2DConditionModel unet = UNet2DConditionModel.load(unetDir, dtype);
    unet.setJointSelfAttention(true);
    return unet;
  }
}
