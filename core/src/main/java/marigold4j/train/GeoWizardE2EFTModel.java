package marigold4j.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.models.clip.CLIPImageProcessor;
import marigold4j.models.clip.CLIPVisionModelWithProjection;
import marigold4j.models.geowizard.GeoWizardConditioning;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.models.geowizard.GeoWizardUNet;
import marigold4j.models.unet.UNet2DConditionConfig;
import marigold4j.models.unet.UNet2DConditionModel;
import marigold4j.models.vae.AutoencoderKL;
import marigold4j.nn.SegmentRunner;
import marigold4j.pipeline.NoiseType;
import marigold4j.pipeline.Precision;
import marigold4j.pipeline.TaskHeads;
import marigold4j.random.NoiseSource;
import marigold4j.random.PyramidNoise;
import marigold4j.schedulers.DDPMScheduler;
import marigold4j.schedulers.SchedulerConfig.PredictionType;
import marigold4j.torch.Engine;
import marigold4j.torch.F;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models of one GeoWizard E2E-FT run ({@code GeoWizard/geowizard/training/train_depth_normal.py --e2e_ft}, as
 * {@code training/scripts/train_geowizard_e2e_ft.sh} runs it): GeoWizard's trainable UNet with its joint
 * self-attention (the script enables xformers, which switches it on), the frozen VAE, the frozen CLIP image encoder,
 * and the single-step forward pass that predicts depth and normals of a micro-batch together.
 *
 * <p>A micro-batch of B images becomes one UNet batch of 2B rows: the depth half then the normal half, each with the
 * RGB latent and its noise latent, all at t = 999, conditioned on the CLIP image embedding of each image (one token)
 * and on class labels that select the geometry (depth or normals) and the batch's scene domain. The x0 estimate of
 * both halves is decoded through the frozen VAE; the loss is {@code 0.5 * SSI-L1(depth) + angular(normals)}
 * ({@link Losses#geoWizard}). Parameters of the UNet's class embedding learn {@code classEmbeddingLrMult} times
 * faster (the original's second AdamW parameter group).
 *
 * <p>Beyond the original: the image encoder and feature extractor come from the base checkpoint; the original loads
 * them from {@code lambdalabs/sd-image-variations-diffusers}, which GeoWizard's released checkpoints ship unchanged
 * (GeoWizard froze that encoder).
 */
public final class GeoWizardE2EFTModel implements E2EFTTrainable {
  private static final Logger LOG = LoggerFactory.getLogger(GeoWizardE2EFTModel.class);
  /** The original's default {@code --class_embedding_lr_mult}. */
  public static final double DEFAULT_CLASS_EMBEDDING_LR_MULT = 10;
  /** The substring that puts a parameter into the class-embedding group (the original tests names with it). */
  static final String CLASS_EMBEDDING = "class_embedding";
  /** The VAE's downsampling factor, hard-coded in the original's latent mask. */
  private static final int LATENT_FACTOR = 8;
  private static final List<String> COMPONENTS = List.of("unet", "vae", "image_encoder", "feature_extractor",
      "scheduler");

  private final TrainableUNet unet;
  private final AutoencoderKL vae;
  private final CLIPVisionModelWithProjection imageEncoder;
  private final CLIPImageProcessor featureExtractor;
  private final float alphaProdT;                            // alphas_cumprod[999]
  private final PredictionType predictionType;
  private final NoiseType noiseType;
  private final double classEmbeddingLrMult;

  private GeoWizardE2EFTModel(TrainableUNet unet, AutoencoderKL vae, CLIPVisionModelWithProjection imageEncoder,
      CLIPImageProcessor featureExtractor, float alphaProdT, PredictionType predictionType, NoiseType noiseType,
      double classEmbeddingLrMult) {
    this.unet = unet;
    this.vae = vae;
    this.imageEncoder = imageEncoder;
    this.featureExtractor = featureExtractor;
    this.alphaProdT = alphaProdT;
    this.predictionType = predictionType;
    this.noiseType = noiseType;
    this.classEmbeddingLrMult = classEmbeddingLrMult;
  }

  /** {@link #load(Path, NoiseType, Precision, double)} with the original's class-embedding multiplier, 10. */
  public static GeoWizardE2EFTModel load(Path base, NoiseType noiseType, Precision precision) {
    return load(base, noiseType, precision, DEFAULT_CLASS_EMBEDDING_LR_MULT);
  }

  /**
   * Loads a GeoWizard checkpoint ({@code unet/}, {@code vae/}, {@code image_encoder/}, {@code feature_extractor/},
   * {@code scheduler/}, e.g. {@code lemonaddie/geowizard}) for fine-tuning. The UNet is left as it is (the original
   * makes no change to it); the VAE and image encoder are frozen in {@code precision}'s dtype.
   *
   * @param noiseType the noise latent next to the RGB latent; required (the original fails without one)
   * @param classEmbeddingLrMult learning-rate factor of the class embedding's parameters
   * @throws CheckpointException naming the file when a component is missing or is not GeoWizard's
   */
  public static GeoWizardE2EFTModel load(Path base, NoiseType noiseType, Precision precision,
      double classEmbeddingLrMult) {
    Engine.init();
    if (noiseType == null) {
      throw new IllegalArgumentException("GeoWizard training needs a noise type (train_geowizard_e2e_ft.sh uses "
          + "zeros); the original fails with 'Unknown noise type None' without one");
    }
    if (!(classEmbeddingLrMult >= 0)) {
      throw new IllegalArgumentException("--class-embedding-lr-mult must be >= 0, got " + classEmbeddingLrMult);
    }
    for (String c : COMPONENTS) {
      if (!Files.isDirectory(base.resolve(c))) {
        throw new CheckpointException(base, "missing component folder '" + c + "/' (a GeoWizard checkpoint for "
            + "training has " + String.join("/, ", COMPONENTS) + "/)");
      }
    }
    torch.ScalarType frozen = precision.dtype();
    try (NoGradGuard ng = new NoGradGuard()) {
      Path unetDir = base.resolve("unet");
      Path configFile = unetDir.resolve("config.json");
      ObjectNode config = TrainableUNet.readObject(configFile);
      UNet2DConditionConfig unetConfig = UNet2DConditionConfig.fromJson(config, configFile.toString());
      if (!GeoWizardUNet.isGeoWizard(unetConfig)) {
        throw new CheckpointException(configFile, "not a GeoWizard UNet (no projection class embedding of "
            + GeoWizardConditioning.CLASS_LABEL_DIM + " inputs): train a Marigold or Stable Diffusion base with "
            + "--modality depth or normals");
      }
      if (config.path("in_channels").asInt(4) != 8) {
        throw new CheckpointException(configFile, "GeoWizard's UNet takes 8 input channels (RGB latent + geometry "
            + "latent), this one " + config.path("in_channels").asInt(4));
      }
      // joint self-attention on: the training script passes --enable_xformers_memory_efficient_attention
      TrainableUNet trainable = new TrainableUNet(GeoWizardUNet.load(unetDir, torch.ScalarType.Float), config,
          precision);
      AutoencoderKL vae = AutoencoderKL.load(base.resolve("vae"), frozen);
      CLIPVisionModelWithProjection imageEncoder = CLIPVisionModelWithProjection.load(base.resolve("image_encoder"),
          frozen);
      CLIPImageProcessor featureExtractor = CLIPImageProcessor.load(base.resolve("feature_extractor"));
      DDPMScheduler scheduler = DDPMScheduler.load(base.resolve("scheduler"));
      PredictionType prediction = scheduler.config().predictionType();
      if (prediction == PredictionType.SAMPLE) {
        throw new CheckpointException(base.resolve("scheduler"), "prediction_type 'sample': GeoWizard training "
            + "converts only v_prediction and epsilon predictions (the original raises on it)");
      }
      if (scheduler.config().clipSample()) {
        LOG.warn("{}: clip_sample is set but E2E-FT training does not clip the x0 estimate", base);
      }
      List<List<Tensor>> groups = trainable.splitByName(CLASS_EMBEDDING);
      LOG.info("loaded {} for GeoWizard depth + normals fine-tuning: {} trainable UNet parameters ({} tensors of the "
          + "class embedding at {}x the learning rate), noise {}, {}", base, trainable.unet().numParameters(),
          groups.get(1).size(), classEmbeddingLrMult, noiseType.name().toLowerCase(java.util.Locale.ROOT),
          precision.label());
      return new GeoWizardE2EFTModel(trainable, vae, imageEncoder, featureExtractor,
          scheduler.alphaCumprod(E2EFTModel.TIMESTEP), prediction, noiseType, classEmbeddingLrMult);
    }
  }

  /**
   * One micro-batch, as the original's E2E-FT branch: CLIP-embed and VAE-encode the images (no gradient), predict
   * the [depth, normal] batch at t = 999, convert to x0, decode both halves through the frozen VAE (with gradient),
   * post-process and compute the joint loss. A batch without any latent cell whose 8 x 8 pixels are all valid is
   * dropped (value 0, no graph), as the original's {@code latent_mask.any()} test drops it; so is a loss whose two
   * terms are both NaN.
   *
   * @param batch needs {@code depth}, {@code normals} and {@code domain} ({@code indoor} or {@code outdoor})
   * @param tap receives {@code unet_input} (2B, 8, h, w), {@code timesteps}, {@code encoder_hidden_states}
   *     (2B, 1, D), {@code class_labels} (2B, 10), {@code model_pred}, {@code decoded} (2B, 3, H, W),
   *     {@code depth_prediction} (B, 1, H, W) and {@code normal_prediction} (B, 3, H, W); may be null
   */
  @Override
  public E2EFTModel.Loss forward(TrainingBatch batch, NoiseSource noise, BiConsumer<String, Tensor> tap,
      boolean gradientCheckpointing) {
    return unet.forward(gradientCheckpointing, segments -> forward(batch, noise, tap, segments));
  }

  private E2EFTModel.Loss forward(TrainingBatch batch, NoiseSource noise, BiConsumer<String, Tensor> tap,
      SegmentRunner unetSegments) {
    if (batch.metricDepth() == null || batch.normals() == null) {
      throw new IllegalArgumentException("GeoWizard training needs batches with both depth and normals");
    }
    Domain domain = trainingDomain(batch.domain());
    long b = batch.size();
    torch.ScalarType dtype = unet.precision().dtype();
    Tensor rgb = batch.rgb().to(dtype);                                                      // (B, 3, H, W)
    Tensor imageEmbeds;
    Tensor rgbLatent;
    try (NoGradGuard ng = new NoGradGuard()) {
      imageEmbeds = imageEncoder.forward(featureExtractor.preprocess(rgb)).to(dtype);          // (B, D)
      // encoder -> quant_conv -> mean; the scaling factor is the VAE config's, as the training loop takes it
      rgbLatent = vae.encodeMean(rgb).to(torch.ScalarType.Float).mul(F.s(vae.scalingFactor()));  // (B, 4, h, w)
    }
    long[] geoShape = {2 * b, rgbLatent.size(1), rgbLatent.size(2), rgbLatent.size(3)};       // depth half, normal half
    Tensor timesteps = F.full(new long[] {2 * b}, F.s(E2EFTModel.TIMESTEP), torch.ScalarType.Long);      // (2B)
    Tensor geoLatents = torch.zeros(geoShape);                                                 // E2E-FT: no target latents
    Tensor noisy = switch (noiseType) {                                                        // (2B, 4, h, w)
      case ZEROS -> torch.zeros_like(geoLatents);
      case GAUSSIAN -> noise.randnLike(geoLatents);
      case PYRAMID -> PyramidNoise.geowizard(geoLatents, timesteps, noise);
    };
    Tensor encoderHiddenStates = imageEmbeds.unsqueeze(1).repeat(2, 1, 1);                     // (2B, 1, D)
    // rows [depth x B, normal x B]: the original's geo one-hots repeat_interleave(bsz), the domain's repeat(2, 1)
    Tensor classLabels = F.repeatInterleave(GeoWizardConditioning.classLabels(domain, dtype), b, 0); // (2B, 10)
    Tensor unetInput = F.cat(1, rgbLatent.repeat(2, 1, 1, 1), noisy);                         // (2B, 8, h, w)
    emit(tap, "unet_input", unetInput);
    emit(tap, "timesteps", timesteps);
    emit(tap, "encoder_hidden_states", encoderHiddenStates);
    emit(tap, "class_labels", classLabels);
    Tensor modelPred = unet.autocast(() -> unet.unet().forward(unetInput, timesteps, encoderHiddenStates, classLabels,
        unetSegments)).to(torch.ScalarType.Float);                                      // (2B, 4, h, w)
    emit(tap, "model_pred", modelPred);

    Tensor mask = batch.valMask().to(torch.ScalarType.Bool);                                   // (B, 1, H, W)
    if (!anyValidLatentCell(mask)) return new E2EFTModel.Loss(null, 0.0, true);

    Tensor latentEstimate = TrainableUNet.x0(predictionType, alphaProdT, noisy, modelPred);    // (2B, 4, h, w)
    Tensor decoded = vae.decode(latentEstimate.div(F.s(vae.scalingFactor())).to(dtype))
        .to(torch.ScalarType.Float);                                                           // (2B, 3, H, W)
    emit(tap, "decoded", decoded);
    if (decoded.size(2) != batch.metricDepth().size(2) || decoded.size(3) != batch.metricDepth().size(3)) {
      // the VAE maps n pixels to (n - 2) // 2 + 1 per level: only sides divisible by 8 come back at their size
      throw new IllegalArgumentException("training images must have sides divisible by 8: the VAE decodes "
          + batch.metricDepth().size(3) + "x" + batch.metricDepth().size(2) + " back to " + decoded.size(3) + "x"
          + decoded.size(2));
    }
    Tensor depth = TaskHeads.depth(decoded.narrow(0, 0, b));                                   // (B, 1, H, W)
    Tensor normals = TaskHeads.clampedNormals(decoded.narrow(0, b, b));                        // (B, 3, H, W)
    emit(tap, "depth_prediction", depth);
    emit(tap, "normal_prediction", normals);

    Losses.Joint joint = Losses.geoWizard(depth, normals, batch.metricDepth(), batch.normals(), mask);
    Map<String, Double> terms = new LinkedHashMap<>();
    if (!Double.isNaN(joint.ssi())) terms.put("ssi", joint.ssi());
    if (!Double.isNaN(joint.angular())) terms.put("normals_angular", joint.angular());
    if (joint.loss() == null) {
      LOG.warn("NaN depth and normals losses: micro-batch dropped (no valid pixel for the losses?)");
      return new E2EFTModel.Loss(null, 0.0, true, null, terms);
    }
    return new E2EFTModel.Loss(joint.loss(), joint.loss().item_double(), false, null, terms);
  }

  /**
   * The original's {@code latent_mask.any()}: whether some latent cell has all its 8 x 8 pixels valid
   * ({@code ~max_pool2d(~val_mask, 8, 8)}; rows and columns beyond the last whole cell are ignored, as the pooling
   * ignores them).
   */
  static boolean anyValidLatentCell(Tensor mask) {                                             // (B, 1, H, W) bool
    long h = mask.size(2) / LATENT_FACTOR;
    long w = mask.size(3) / LATENT_FACTOR;
    if (h == 0 || w == 0) return false;
    Tensor cells = mask.narrow(2, 0, h * LATENT_FACTOR).narrow(3, 0, w * LATENT_FACTOR)
        .reshape(mask.size(0), mask.size(1), h, LATENT_FACTOR, w, LATENT_FACTOR);           // (B, 1, h, 8, w, 8)
    return cells.all(5).all(3).any().item_bool();
  }

  /** The domains the original's training accepts: indoor (Hypersim) and outdoor (Virtual KITTI 2). */
  static Domain trainingDomain(Domain domain) {
    if (domain == Domain.INDOOR || domain == Domain.OUTDOOR) return domain;
    throw new IllegalArgumentException("GeoWizard training needs each batch's domain, indoor or outdoor (the "
        + "original raises 'Unknown domain' otherwise), got " + (domain == null ? "none" : "'" + domain.id() + "'"));
  }

  private static void emit(BiConsumer<String, Tensor> tap, String name, Tensor t) {
    if (tap != null) tap.accept(name, t);
  }

  @Override
  public void backward(E2EFTModel.Loss loss, double divisor) {
    unet.backward(loss, divisor);
  }

  /** The trainable GeoWizard UNet (float32 master weights, joint self-attention on). */
  @Override
  public UNet2DConditionModel unet() {
    return unet.unet();
  }

  @Override
  public ObjectNode unetConfigJson() {
    return unet.configJson();
  }

  @Override
  public List<Tensor> trainableParameters() {
    return unet.parameters();
  }

  /**
   * The original's two AdamW groups: every parameter whose name does not contain {@code class_embedding} at the
   * run's learning rate, the class embedding's at {@code classEmbeddingLrMult} times it.
   */
  @Override
  public List<ParameterGroup> parameterGroups() {
    List<List<Tensor>> split = unet.splitByName(CLASS_EMBEDDING);
    List<ParameterGroup> groups = new ArrayList<>();
    groups.add(new ParameterGroup("unet", split.get(0), 1.0));
    if (!split.get(1).isEmpty()) groups.add(new ParameterGroup(CLASS_EMBEDDING, split.get(1), classEmbeddingLrMult));
    return groups;
  }

  /** GeoWizard's pyramid noise draws its uniforms from numpy. */
  @Override
  public TrainingRandom.Uniforms pyramidUniforms() {
    return TrainingRandom.Uniforms.NUMPY;
  }

  /** The original's final save: a {@code DepthNormalEstimationPipeline} folder ({@link PipelineExport#writeGeoWizard}). */
  @Override
  public void exportPipeline(Path base, Path outputDir, String nameOrPath) {
    PipelineExport.writeGeoWizard(base, outputDir, this, nameOrPath);
  }

  public NoiseType noiseType() {
    return noiseType;
  }

  public Precision precision() {
    return unet.precision();
  }

  public double classEmbeddingLrMult() {
    return classEmbeddingLrMult;
  }

  @Override
  public void close() {
    unet.close();
    vae.close();
    imageEncoder.close();
  }
}
