package marigold4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiConsumer;
import marigold4j.models.unet.UNet2DConditionModel;
import marigold4j.random.NoiseSource;
import org.bytedeco.pytorch.Tensor;

/**
 * What {@link E2EFTTrainer} fine-tunes: a trainable UNet with the frozen models around it, and the single-step
 * forward pass that turns a micro-batch into the task loss. {@link E2EFTModel} is Marigold / Stable Diffusion
 * ({@code training/train.py}), {@link GeoWizardE2EFTModel} is GeoWizard ({@code train_depth_normal.py}).
 */
public interface E2EFTTrainable extends AutoCloseable {
  /** The optimizer's parameters of one group, whose learning rate is the run's times {@code lrMultiplier}. */
  record ParameterGroup(String name, List<Tensor> params, double lrMultiplier) {
    public ParameterGroup {
      params = List.copyOf(params);
      if (!(lrMultiplier >= 0)) throw new IllegalArgumentException("bad learning-rate multiplier " + lrMultiplier);
    }
  }

  /**
   * One micro-batch's forward pass, optionally with activation checkpointing of the UNet; the returned loss must be
   * passed to {@link #backward} (which also releases the checkpoint).
   *
   * @param noise the draws for gaussian / pyramid noise (unused for zeros)
   * @param tap receives named intermediate tensors (see the implementations); may be null
   */
  E2EFTModel.Loss forward(TrainingBatch batch, NoiseSource noise, BiConsumer<String, Tensor> tap,
      boolean gradientCheckpointing);

  /** {@link #forward(TrainingBatch, NoiseSource, BiConsumer, boolean)} without gradient checkpointing. */
  default E2EFTModel.Loss forward(TrainingBatch batch, NoiseSource noise, BiConsumer<String, Tensor> tap) {
    return forward(batch, noise, tap, false);
  }

  /** Back-propagates {@code loss / divisor} into the UNet's gradients (accumulating); nothing for a dropped loss. */
  void backward(E2EFTModel.Loss loss, double divisor);

  /** The trainable UNet (float32 master weights). */
  UNet2DConditionModel unet();

  /** The UNet's {@code config.json} as trained. */
  ObjectNode unetConfigJson();

  /** Every parameter the optimizer updates, in registration (state-dict) order. */
  List<Tensor> trainableParameters();

  /** The optimizer's parameter groups (together exactly {@link #trainableParameters()}); one group by default. */
  default List<ParameterGroup> parameterGroups() {
    return List.of(new ParameterGroup("unet", trainableParameters(), 1.0));
  }

  /** The generator the uniform draws of pyramid noise come from in the original. */
  default TrainingRandom.Uniforms pyramidUniforms() {
    return TrainingRandom.Uniforms.PYTHON;
  }

  /**
   * Saves the fine-tuned pipeline into {@code outputDir} as the original's final {@code save_pretrained} does.
   *
   * @param base the base checkpoint the run started from (the frozen components are copied from it)
   * @param nameOrPath recorded as {@code _name_or_path}
   */
  void exportPipeline(Path base, Path outputDir, String nameOrPath);

  @Override
  void close();
}
