package marigold4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.models.clip.CLIPTextModel;
import marigold4j.models.clip.CLIPTokenizer;
import marigold4j.models.unet.UNet2DConditionConfig;
import marigold4j.models.unet.UNet2DConditionModel;
import marigold4j.models.vae.AutoencoderKL;
import marigold4j.nn.ActivationCheckpoint;
import marigold4j.nn.SegmentRunner;
import marigold4j.nn.StateDicts;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;
import marigold4j.pipeline.Precision;
import marigold4j.pipeline.TaskHeads;
import marigold4j.random.NoiseSource;
import marigold4j.random.PyramidNoise;
import marigold4j.schedulers.DDPMScheduler;
import marigold4j.schedulers.SchedulerConfig.PredictionType;
import marigold4j.torch.Engine;
import marigold4j.torch.F;
import marigold4j.weights.WeightFiles;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models of one E2E-FT run ({@code training/train.py}): the trainable UNet, the frozen VAE, the empty-prompt
 * encoding and the noise schedule's coefficients at t = 999, plus the single-step forward pass that turns a
 * micro-batch into the task loss.
 *
 * <p>The UNet is float32 (its master weights); with {@link Precision#BF16} or {@link Precision#FP16} the frozen VAE
 * and text encoder are cast to that dtype, as the original does, and the UNet runs under autocast.
 */
public final class E2EFTModel implements E2EFTTrainable {
  private static final Logger LOG = LoggerFactory.getLogger(E2EFTModel.class);
  /** The single denoising step E2E-FT trains: the first step of inference. */
  static final long TIMESTEP = 999;

  private final TrainableUNet unet;
  private final AutoencoderKL vae;
  private final Tensor emptyEncoding;                        // (1, 77, D), "" padded to max_length
  private final float alphaProdT;                            // alphas_cumprod[999]
  private final PredictionType predictionType;
  private final Modality modality;
  private final NoiseType noiseType;                         // null: RGB latent only (4-channel SD UNets)
  private final List<Tensor> trainable;

  private E2EFTModel(TrainableUNet unet, AutoencoderKL vae, Tensor emptyEncoding, float alphaProdT,
      PredictionType predictionType, Modality modality, NoiseType noiseType) {
    this.unet = unet;
    this.vae = vae;
    this.emptyEncoding = emptyEncoding;
    this.alphaProdT = alphaProdT;
    this.predictionType = predictionType;
    this.modality = modality;
    this.noiseType = noiseType;
    this.trainable = unet.parameters();
  }

  /**
   * Loads a base checkpoint in the diffusers layout for fine-tuning. With a noise type, a UNet whose
   * {@code in_channels} is not 8 gets its {@code conv_in} widened ({@link #replaceConvIn}); without one
   * ({@code noiseType == null}) the UNet sees the RGB latent alone.
   *
   * @throws CheckpointException naming the file when a component is missing or does not match its config
   */
  public static E2EFTModel load(Path base, Modality modality, NoiseType noiseType, Precision precision) {
    Engine.init();
    for (String c : List.of("unet", "vae", "text_encoder", "tokenizer", "scheduler")) {
      if (!Files.isDirectory(base.resolve(c))) {
        throw new CheckpointException(base, "missing component folder '" + c + "/' (a base checkpoint for training "
            + "has unet/, vae/, text_encoder/, tokenizer/ and scheduler/)");
      }
    }
    torch.ScalarType frozen = precision.dtype();
    try (NoGradGuard ng = new NoGradGuard()) {
      Path unetDir = base.resolve("unet");
      Path configFile = unetDir.resolve("config.json");
      ObjectNode config = TrainableUNet.readObject(configFile);
      Map<String, Tensor> weights = WeightFiles.load(unetDir, null);
      int inChannels = config.path("in_channels").asInt(4);
      if (noiseType == null && inChannels != 4) {
        throw new IllegalArgumentException(configFile + ": the UNet takes " + inChannels + " input channels, the RGB "
            + "latent alone has 4: give a noise type (the E2E-FT scripts use zeros)");
      }
      if (noiseType != null && inChannels != 8) {
        replaceConvIn(weights, 2, configFile);
        config.put("in_channels", 8);
        LOG.info("UNet conv_in widened from {} to 8 input channels for the RGB + {} latent input", inChannels,
            modality.cliName());
      }
      UNet2DConditionModel unet = UNet2DConditionModel.fromConfig(
          UNet2DConditionConfig.fromJson(config, configFile.toString()));
      StateDicts.loadStrict(unet, weights, unetDir.toString(), precision.masterDtype());
      TrainableUNet trainable = new TrainableUNet(unet, config, precision);

      AutoencoderKL vae = AutoencoderKL.load(base.resolve("vae"), frozen);
      Tensor empty;
      try (CLIPTextModel textEncoder = CLIPTextModel.load(base.resolve("text_encoder"), frozen)) {
        CLIPTokenizer tokenizer = CLIPTokenizer.load(base.resolve("tokenizer"));
        // Training encodes [""] padded to max_length (77 tokens, pad id 0 for SD2), unlike inference.
        Tensor ids = tokenizer.encode("", CLIPTokenizer.Padding.MAX_LENGTH, true).idsTensor();
        empty = textEncoder.forward(ids).clone();
      }
      empty.retainReference();
      DDPMScheduler scheduler = DDPMScheduler.load(base.resolve("scheduler"));
      float alpha = scheduler.alphaCumprod(TIMESTEP);
      PredictionType prediction = scheduler.config().predictionType();
      if (scheduler.config().clipSample()) {
        // train.py's clip/threshold branch refers to an undefined variable; no released checkpoint enables it
        LOG.warn("{}: clip_sample is set but E2E-FT training does not clip the x0 estimate", base);
      }
      LOG.info("loaded {} for {} fine-tuning: {} trainable UNet parameters, noise {}, {}", base, modality.cliName(),
          unet.numParameters(), noiseType == null ? "none (RGB latent only)" : noiseType.name().toLowerCase(),
          precision.label());
      return new E2EFTModel(trainable, vae, empty, alpha, prediction, modality, noiseType);
    }
  }

  /**
   * E2E-FT's {@code replace_unet_conv_in}: {@code conv_in.weight} repeated {@code repeat} times along the input
   * channels and divided by {@code repeat} (so the activation keeps its magnitude for a repeated input),
   * {@code conv_in.bias} divided by {@code repeat}. Modifies {@code stateDict} in place.
   */
  public static void replaceConvIn(Map<String, Tensor> stateDict, int repeat, Path source) {
    Tensor w = stateDict.get("conv_in.weight");
    Tensor b = stateDict.get("conv_in.bias");
    if (w == null || b == null) throw new CheckpointException(source, "no conv_in.weight / conv_in.bias to widen");
    if (w.size(1) != 4) {
      throw new CheckpointException(source, "conv_in has " + w.size(1) + " input channels; only a 4-channel UNet "
          + "(Stable Diffusion) can be widened for the RGB + target latent input");
    }
    Tensor wide = w.to(torch.ScalarType.Float).repeat(1, repeat, 1, 1).div(F.s(repeat));   // (out, 4 * repeat, k, k)
    stateDict.put("conv_in.weight", wide);
    stateDict.put("conv_in.bias", b.to(torch.ScalarType.Float).div(F.s(repeat)));
  }

  /**
   * The result of one micro-batch's forward pass.
   *
   * @param loss the task loss with its graph, or null when dropped
   * @param value the loss value (0 when dropped)
   * @param dropped whether the micro-batch was dropped (NaN loss or no valid pixel)
   * @param checkpoint with gradient checkpointing, the UNet's checkpointed segments, which {@link #backward} completes
   *     and releases; null otherwise
   * @param terms the values of the loss's terms by name (GeoWizard: {@code ssi}, {@code normals_angular}), for the
   *     metrics log; a term that was NaN (and left out of the loss) is absent
   */
  public record Loss(Tensor loss, double value, boolean dropped, ActivationCheckpoint checkpoint,
      Map<String, Double> terms) {
    public Loss {
      terms = terms == null ? Map.of() : Map.copyOf(terms);
    }

    /** A loss without named terms. */
    public Loss(Tensor loss, double value, boolean dropped, ActivationCheckpoint checkpoint) {
      this(loss, value, dropped, checkpoint, Map.of());
    }

    /** A loss computed without gradient checkpointing and without named terms. */
    public Loss(Tensor loss, double value, boolean dropped) {
      this(loss, value, dropped, null, Map.of());
    }

    /** The same loss carrying the UNet's checkpointed segments. */
    public Loss withCheckpoint(ActivationCheckpoint c) {
      return new Loss(loss, value, dropped, c, terms);
    }

    /** Whether {@code loss} is connected to the UNet (and a backward pass is needed). */
    public boolean hasGraph() {
      return loss != null && loss.requires_grad();
    }
  }

  /**
   * One micro-batch: encode the RGB (no gradient), predict at t = 999 from the RGB latent and the noise latent,
   * convert the prediction to x0 with the schedule's alphas, decode it through the frozen VAE (with gradient) and
   * compute the task loss. A NaN loss, or a batch without any valid pixel, is dropped (value 0, no graph), exactly
   * as the original drops it.
   *
   * @param noise the draws for gaussian / pyramid noise (unused for zeros or none)
   * @param tap receives {@code unet_input}, {@code timesteps}, {@code model_pred}, {@code decoder_in} (the VAE decoder's
   *     input: post_quant_conv of x0 / scaling_factor), {@code loss_prediction}; may be null
   */
  @Override
  public Loss forward(TrainingBatch batch, NoiseSource noise, BiConsumer<String, Tensor> tap) {
    return forward(batch, noise, tap, false);
  }

  /**
   * As {@link #forward(TrainingBatch, NoiseSource, BiConsumer)}, optionally with activation checkpointing of the UNet
   * (train.py's {@code --gradient_checkpointing}): the UNet runs block by block without keeping its activations and
   * recomputes them in {@link #backward}, which must then be called (it also releases the checkpoint). Same loss
   * and, up to float32 summation order, the same gradients; less memory, about one more UNet forward pass of time.
   * Under a {@code NoGradGuard} the flag has no effect.
   */
  @Override
  public Loss forward(TrainingBatch batch, NoiseSource noise, BiConsumer<String, Tensor> tap,
      boolean gradientCheckpointing) {
    return unet.forward(gradientCheckpointing, segments -> forward(batch, noise, tap, segments));
  }

  /**
   * Back-propagates {@code loss / divisor} into the UNet's gradients (accumulating), completing the UNet's
   * checkpointed backward pass when the loss has one, and releasing that checkpoint. Does nothing for a dropped loss.
   */
  @Override
  public void backward(Loss loss, double divisor) {
    unet.backward(loss, divisor);
  }

  private Loss forward(TrainingBatch batch, NoiseSource noise, BiConsumer<String, Tensor> tap,
      SegmentRunner unetSegments) {
    long b = batch.size();
    Tensor rgbLatent;
    try (NoGradGuard ng = new NoGradGuard()) {
      // encoder -> quant_conv -> mean; no sampling. The loop's scaling uses the VAE config, as train.py does.
      rgbLatent = vae.encodeMean(batch.rgb()).to(master()).mul(F.s(vae.scalingFactor()));  // (B,4,h,w)
    }
    Tensor timesteps = F.full(new long[] {b}, F.s(TIMESTEP), torch.ScalarType.Long);
    Tensor noisy = switch (noiseType == null ? NoiseType.ZEROS : noiseType) {
      case ZEROS -> torch.zeros_like(rgbLatent);
      case GAUSSIAN -> noise.randnLike(rgbLatent);
      case PYRAMID -> PyramidNoise.marigold(rgbLatent, noise);
    };
    Tensor encoderHiddenStates = emptyEncoding.to(master()).repeat(b, 1, 1);       // (B, 77, D)
    Tensor unetInput = noiseType == null ? rgbLatent : F.cat(1, rgbLatent, noisy);               // (B, 8, h, w)
    emit(tap, "unet_input", unetInput);
    emit(tap, "timesteps", timesteps);
    Tensor modelPred = unet.autocast(() -> unet.unet().forward(unetInput, timesteps, encoderHiddenStates, null,
        unetSegments)).to(master());                                               // (B, 4, h, w)
    emit(tap, "model_pred", modelPred);

    Tensor mask = batch.valMask().to(torch.ScalarType.Bool);
    if (!mask.any().item_bool()) return new Loss(null, 0.0, true);

    Tensor latentEstimate = TrainableUNet.x0(predictionType, alphaProdT, noisy, modelPred);     // (B, 4, h, w)
    Tensor decoded;
    try (marigold4j.nn.Module.Hook h = tap == null ? null : vae.hook((n, t) -> {
      if (n.equals("post_quant_conv")) tap.accept("decoder_in", t);
    })) {
      decoded = vae.decode(latentEstimate.div(F.s(vae.scalingFactor()))).to(master());        // (B, 3, H, W)
    }

    Tensor lossValue;
    if (modality == Modality.DEPTH) {
      Tensor estimate = TaskHeads.depth(decoded);                                                // (B, 1, H, W)
      emit(tap, "loss_prediction", estimate);
      if (batch.metricDepth() == null) throw new IllegalArgumentException("depth training needs batches with depth");
      lossValue = Losses.scaleAndShiftInvariant(estimate, batch.metricDepth(), mask);
    } else {
      Tensor estimate = TaskHeads.clampedNormals(decoded);                                       // (B, 3, H, W)
      emit(tap, "loss_prediction", estimate);
      if (batch.normals() == null) throw new IllegalArgumentException("normals training needs batches with normals");
      lossValue = Losses.angular(estimate, batch.normals(), mask);
    }
    if (lossValue.isnan().any().item_bool()) {
      LOG.warn("NaN {} loss dropped (no valid pixel for the loss?)", modality.cliName());
      return new Loss(null, 0.0, true);
    }
    return new Loss(lossValue, lossValue.item_double(), false);
  }

  private static void emit(BiConsumer<String, Tensor> tap, String name, Tensor t) {
    if (tap != null) tap.accept(name, t);
  }

  /** The trainable UNet (float32 master weights). */
  @Override
  public UNet2DConditionModel unet() {
    return unet.unet();
  }

  /** The UNet's {@code config.json} as trained ({@code in_channels} 8 after widening). */
  @Override
  public ObjectNode unetConfigJson() {
    return unet.configJson();
  }

  /** The UNet parameters the optimizer updates, in registration (state-dict) order. */
  @Override
  public List<Tensor> trainableParameters() {
    return trainable;
  }

  /** train.py's final save: a {@code StableDiffusionPipeline} folder ({@link PipelineExport#write}). */
  @Override
  public void exportPipeline(Path base, Path outputDir, String nameOrPath) {
    PipelineExport.write(base, outputDir, this, nameOrPath);
  }

  /** The (1, 77, D) empty-prompt encoding. */
  public Tensor emptyEncoding() {
    return emptyEncoding;
  }

  public Modality modality() {
    return modality;
  }

  /** The noise type, or null when the UNet sees only the RGB latent. */
  public NoiseType noiseType() {
    return noiseType;
  }

  public Precision precision() {
    return unet.precision();
  }

  /** float32 (float64 for the reference replay): the dtype of the UNet's output and of everything after it. */
  private torch.ScalarType master() {
    return unet.precision().masterDtype();
  }

  @Override
  public void close() {
    unet.close();
    vae.close();
    emptyEncoding.releaseReference();
  }
}
