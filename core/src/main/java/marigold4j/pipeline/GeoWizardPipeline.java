package marigold4j.pipeline;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ModelIndex;
import marigold4j.ensemble.DepthEnsemble;
import marigold4j.ensemble.NormalsEnsemble;
import marigold4j.image.Colormap;
import marigold4j.image.Cv2Nearest;
import marigold4j.image.PilImage;
import marigold4j.image.PilResize;
import marigold4j.image.Resize;
import marigold4j.models.clip.CLIPImageProcessor;
import marigold4j.models.clip.CLIPVisionModelWithProjection;
import marigold4j.models.geowizard.GeoWizardConditioning;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.models.geowizard.GeoWizardUNet;
import marigold4j.models.unet.UNet2DConditionConfig;
import marigold4j.models.unet.UNet2DConditionModel;
import marigold4j.models.vae.AutoencoderKL;
import marigold4j.random.NoiseSource;
import marigold4j.random.PyramidNoise;
import marigold4j.schedulers.DDIMScheduler;
import marigold4j.torch.Engine;
import marigold4j.torch.F;
import marigold4j.torch.Scopes;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * GeoWizard / GeoWizard-E2E-FT joint depth and normals estimation, step for step as the original
 * {@code DepthNormalEstimationPipeline} run by {@code GeoWizard/run_infer.py}: PIL-resize the image, normalise,
 * VAE-encode, embed the whole image with CLIP, denoise a [depth, normal] batch with DDIM (class labels select the
 * geometry and the scene domain, joint self-attention couples the two halves), decode both, optionally ensemble,
 * post-process.
 *
 * <p>Load once, call {@link #predict} per image, close at the end. Each call keeps its native memory in its own
 * scope, so memory stays flat over any number of images.
 */
public final class GeoWizardPipeline implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(GeoWizardPipeline.class);
  /** Hard-coded in the original pipeline ({@code latent_scale_factor}) for the RGB and the prediction latents. */
  private static final double LATENT_SCALE = LatentDiffusion.MARIGOLD_LATENT_SCALE;
  private static final List<String> COMPONENTS = List.of("unet", "vae", "image_encoder", "feature_extractor",
      "scheduler");

  private final Path checkpoint;
  private final UNet2DConditionModel unet;
  private final AutoencoderKL vae;
  private final CLIPVisionModelWithProjection imageEncoder;
  private final CLIPImageProcessor featureExtractor;
  private final DDIMScheduler scheduler;
  private final Precision precision;
  private final Device device;

  private GeoWizardPipeline(Path checkpoint, UNet2DConditionModel unet, AutoencoderKL vae,
      CLIPVisionModelWithProjection imageEncoder, CLIPImageProcessor featureExtractor, DDIMScheduler scheduler,
      Precision precision, Device device) {
    this.checkpoint = checkpoint;
    this.unet = unet;
    this.vae = vae;
    this.imageEncoder = imageEncoder;
    this.featureExtractor = featureExtractor;
    this.scheduler = scheduler;
    this.precision = precision;
    this.device = device;
  }

  /** Whether a checkpoint folder holds a GeoWizard model ({@link #detectionEvidence} says why). */
  public static boolean isGeoWizard(Path checkpoint) {
    return detectionEvidence(checkpoint) != null;
  }

  /**
   * Why a checkpoint folder holds a GeoWizard model, judged from its contents (never its name): a
   * {@code model_index.json} naming {@code DepthNormalEstimationPipeline} or listing an {@code image_encoder}, or a
   * UNet whose config has GeoWizard's projection class embedding. Null when it does not, or is unreadable.
   */
  public static String detectionEvidence(Path checkpoint) {
    try {
      if (Files.isRegularFile(checkpoint.resolve(ModelIndex.FILE))) {
        ModelIndex index = ModelIndex.read(checkpoint);
        if (index.pipelineClass() == ModelIndex.PipelineClass.GEOWIZARD) {
          return ModelIndex.FILE + ": _class_name '" + index.className() + "'";
        }
        if (index.component("image_encoder").isPresent()) return ModelIndex.FILE + ": an image_encoder component";
      }
      Path unetConfig = checkpoint.resolve("unet").resolve("config.json");
      if (Files.isRegularFile(unetConfig) && GeoWizardUNet.isGeoWizard(UNet2DConditionConfig.read(unetConfig))) {
        return "unet/config.json: GeoWizard's projection class embedding";
      }
      return null;
    } catch (CheckpointException e) {
      LOG.debug("{} is not a readable GeoWizard checkpoint: {}", checkpoint, e.getMessage());
      return null;
    }
  }


  /** Loads a checkpoint folder in fp32 on the CPU. */
  /**
   * Seeds the engine's generator and numpy's legacy generator (GeoWizard's pyramid noise draws from numpy) as
   * run_infer.py's {@code seed_all} does, and returns the noise source for all images of the run: its progress bar
   * ({@code tqdm.auto}) opens a second DataLoader iterator per call, so two base-seed draws per image.
   */
  public static NoiseSource seedLikeRunInfer(long seed) {
    Engine.init();
    torch.manual_seed(seed);
    return NoiseSource.torch(new marigold4j.random.NumpyRandom(seed), 2);
  }

  public static GeoWizardPipeline load(Path checkpoint) {
    return load(checkpoint, Precision.FP32, "cpu");
  }

  /**
   * Loads a GeoWizard checkpoint folder ({@code unet/}, {@code vae/}, {@code image_encoder/},
   * {@code feature_extractor/}, {@code scheduler/}), all components strictly, the UNet with its joint self-attention
   * on (run_infer.py enables it through xformers).
   *
   * @param device {@code cpu}, {@code cuda} or {@code cuda:N}
   * @throws CheckpointException naming the file when a component is missing or does not match its config
   */
  public static GeoWizardPipeline load(Path checkpoint, Precision precision, String device) {
    Engine.init();
    Device dev = Engine.device(device);
    for (String c : COMPONENTS) {
      if (!Files.isDirectory(checkpoint.resolve(c))) {
        throw new CheckpointException(checkpoint, "missing component folder '" + c + "/' (a GeoWizard checkpoint has "
            + String.join("/, ", COMPONENTS) + "/)");
      }
    }
    try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
      // Read straight into the pipeline's dtype (tensor by tensor): a bf16 load never holds the fp32 weights.
      UNet2DConditionModel unet = GeoWizardUNet.load(checkpoint.resolve("unet"), precision.dtype());
      AutoencoderKL vae = AutoencoderKL.load(checkpoint.resolve("vae"), precision.dtype());
      CLIPVisionModelWithProjection imageEncoder = CLIPVisionModelWithProjection.load(checkpoint.resolve(
          "image_encoder"), precision.dtype());
      CLIPImageProcessor featureExtractor = CLIPImageProcessor.load(checkpoint.resolve("feature_extractor"));
      DDIMScheduler scheduler = DDIMScheduler.load(checkpoint.resolve("scheduler"));
      unet.to(dev, precision.dtype());
      vae.to(dev, precision.dtype());
      imageEncoder.to(dev, precision.dtype());
      LOG.info("loaded GeoWizard {} ({} on {})", checkpoint, precision.label(), dev.str().getString());
      return new GeoWizardPipeline(checkpoint, unet, vae, imageEncoder, featureExtractor, scheduler, precision, dev);
    } finally {
      Scopes.returnFreedMemory();
    }
  }

  /** run_infer.py's defaults for {@code domain}. */
  public GeoWizardOptions defaults(Domain domain) {
    return GeoWizardOptions.defaults(domain);
  }

  public Precision precision() {
    return precision;
  }

  public Path checkpoint() {
    return checkpoint;
  }

  /** Predicts from an in-memory image (RGBA when it has alpha, otherwise RGB, as PIL would open it). */
  public GeoWizardPrediction predict(BufferedImage image, GeoWizardOptions options, NoiseSource noise) {
    return predict(PilImage.fromBufferedImage(image), options, noise);
  }

  /**
   * Predicts depth and normals for an image as PIL opened it ({@link marigold4j.image.ImageInput#read}); the mode
   * matters because the original resizes before dropping alpha ({@code RGBA} is resized premultiplied).
   *
   * @param noise where random draws come from (gaussian / pyramid noise); {@link NoiseSource#torch} over a
   *     {@link marigold4j.random.NumpyRandom} with torch's global generator seeded reproduces the original's draws
   * @throws IllegalArgumentException for the settings on which the original fails: {@code matchInputRes} false,
   *     pyramid noise with more than one step, a batch size above 1
   */
  public GeoWizardPrediction predict(PilImage image, GeoWizardOptions options, NoiseSource noise) {
    try {
      return predictScoped(image, options, noise);
    } finally {
      Scopes.returnFreedMemory();
    }
  }

  private GeoWizardPrediction predictScoped(PilImage image, GeoWizardOptions options, NoiseSource noise) {
    rejectUnsupported(options);
    int inW = image.width();
    int inH = image.height();
    try (NoGradGuard ng = new NoGradGuard(); PointerScope call = new PointerScope()) {
      PilImage resized = image;
      if (options.processingRes() > 0) {
        long[] hw = Resize.maxResSize(inH, inW, options.processingRes());
        resized = PilResize.resize(image, (int) hw[1], (int) hw[0]);
      }
      // np.array(convert("RGB")) / 255.0 * 2.0 - 1.0 in float64, then cast to the pipeline's dtype
      Tensor rgbNorm = resized.toRgbHwc().permute(2, 0, 1).to(torch.ScalarType.Double)   // (3, h, w)
          .div(F.s(255.0)).mul(F.s(2.0)).sub(F.s(1.0)).to(device, precision.dtype());
      if (noise != null) noise.dataLoaderIterator();        // the original batches through a DataLoader
      Tensor rgbIn = rgbNorm.unsqueeze(0);                                                 // (1, 3, h, w)
      // The original embeds the image once per call (from the first batch) and re-encodes every member; the RGB
      // latent is a function of the same input, so it is encoded once here.
      Tensor imageEmbeds = imageEncoder.forward(featureExtractor.preprocess(rgbIn)).to(precision.dtype()); // (1, D)
      Tensor encoderHiddenStates = GeoWizardConditioning.encoderHiddenStates(imageEmbeds);  // (2, 1, D)
      Tensor classLabels = GeoWizardConditioning.classLabels(options.domain(), precision.dtype())
          .to(device, precision.dtype());                                                   // (2, 10)
      Tensor rgbLatent = vae.encodeMean(rgbIn).mul(F.s(LATENT_SCALE));                     // (1, 4, h/8, w/8)
      List<Tensor> depths = new ArrayList<>();
      List<Tensor> normals = new ArrayList<>();
      for (int m = 0; m < options.ensembleSize(); m++) {
        try (PointerScope member = new PointerScope()) {
          Tensor[] dn = singleInfer(rgbLatent, encoderHiddenStates, classLabels, options, noise, member);
          call.attach(dn[0]);
          call.attach(dn[1]);
          depths.add(dn[0]);
          normals.add(dn[1]);
        }
      }
      Tensor depthPreds = F.cat(0, depths).to(torch.ScalarType.Float).cpu();               // (N, 1, H, W)
      Tensor normalPreds = F.cat(0, normals).to(torch.ScalarType.Float).cpu();             // (N, 3, H, W)
      Tensor depth;
      Tensor normal;
      Tensor uncertainty = null;
      if (options.ensembleSize() > 1) {
        DepthEnsemble.Result r = new DepthEnsemble().ensemble(depthPreds.squeeze(1));
        depth = r.depth();
        uncertainty = r.uncertainty();
        normal = NormalsEnsemble.ensemble(normalPreds).normals();   // no re-normalisation after it, unlike Marigold
      } else {
        depth = depthPreds.squeeze(0).squeeze(0);                                          // (H, W)
        normal = normalPreds.squeeze(0);                                                   // (3, H, W)
      }
      // min-max to [0, 1] with 0-d tensors, as the original; it has no guard for a constant map (0 / 0 = NaN)
      Tensor min = depth.min();
      Tensor max = depth.max();
      depth = depth.sub(min).div(max.sub(min));
      Tensor normalHwc = normal.permute(1, 2, 0).contiguous();                             // (3, H, W) -> (H, W, 3)
      // matchInputRes is always true here (rejectUnsupported): Image.fromarray(depth).resize is PIL bicubic on a
      // float image; normals go through cv2.resize with INTER_NEAREST on the (H, W, 3) map
      depth = PilResize.resizeFloat(depth, inW, inH);
      normalHwc = Cv2Nearest.resize(normalHwc, inW, inH);
      return toPrediction(F.clamp(depth, 0.0, 1.0), F.clamp(normalHwc, -1.0, 1.0), uncertainty, options);
    }
  }

  /**
   * One ensemble member through the diffusion loop, as the original's {@code single_infer}: the [depth, normal]
   * batch starts from the same initial latent, and the last step's x0 prediction is decoded.
   *
   * @return depth (1, 1, H, W) in [0, 1] and normals (1, 3, H, W), unit length, sign flipped as the original does
   */
  private Tensor[] singleInfer(Tensor rgbLatent, Tensor encoderHiddenStates, Tensor classLabels,
      GeoWizardOptions options, NoiseSource noise, PointerScope member) {
    DDIMScheduler sched = scheduler.withTimestepSpacing(options.timestepSpacing());
    sched.setTimesteps(options.denoisingSteps());
    long[] timesteps = sched.timesteps();
    Tensor initial = switch (options.noise()) {                                            // (1, 4, h, w)
      case ZEROS -> torch.zeros_like(rgbLatent);
      case GAUSSIAN -> noise.randn(Tensors.shape(rgbLatent)).to(device, precision.dtype());
      case PYRAMID -> PyramidNoise.geowizard(rgbLatent, Tensors.fromLongs(timesteps, timesteps.length).to(device,
          torch.ScalarType.Long), noise).to(device, precision.dtype());
    };
    Tensor rgb = rgbLatent.repeat(2, 1, 1, 1);                                             // (2, 4, h, w)
    Tensor latent = LatentDiffusion.denoise(sched, timesteps, rgb, initial.repeat(2, 1, 1, 1),  // depth, normal rows
        (unetIn, timestep) -> unet.forward(unetIn, Tensors.fromLongs(new long[] {timestep, timestep}, 2).to(device,
            torch.ScalarType.Long), encoderHiddenStates, classLabels), precision.dtype(), member);
    Tensor depth = TaskHeads.depthUnitRange(
        vae.decode(latent.narrow(0, GeoWizardConditioning.DEPTH_ROW, 1).div(F.s(LATENT_SCALE))));  // (1, 1, H, W)
    Tensor normal = TaskHeads.unitNormals(
        vae.decode(latent.narrow(0, GeoWizardConditioning.NORMAL_ROW, 1).div(F.s(LATENT_SCALE))))
        .mul(F.s(-1.0));                                                                   // (1, 3, H, W)
    return new Tensor[] {depth, normal};
  }

  /** The settings on which the original pipeline raises, refused before any work is done. */
  private static void rejectUnsupported(GeoWizardOptions options) {
    if (!options.matchInputRes()) {
      throw new IllegalArgumentException("GeoWizard cannot keep the processing resolution (match_input_res=False, "
          + "--output_processing_res): the original pipeline fails on it (its normal map stays (3, H, W) and "
          + "Image.fromarray raises TypeError: Cannot handle this data type)");
    }
    if (options.noise() == NoiseType.PYRAMID && options.denoisingSteps() > 1) {
      throw new IllegalArgumentException("GeoWizard's pyramid noise works with 1 denoising step only, got "
          + options.denoisingSteps() + ": the original weights each noise level by the whole timestep vector and "
          + "fails (RuntimeError: output with shape [1, 4, h, w] doesn't match the broadcast shape [n, 4, h, w])");
    }
    if (options.batchSize() > 1) {
      throw new IllegalArgumentException("GeoWizard runs one ensemble member per batch (batch size 0 or 1), got "
          + options.batchSize() + ": the original's [depth, normal] conditioning and decoding assume a single member");
    }
  }

  private static GeoWizardPrediction toPrediction(Tensor depth, Tensor normalHwc, Tensor uncertainty,
      GeoWizardOptions options) {
    long[] s = Tensors.shape(depth);
    int h = (int) s[0];
    int w = (int) s[1];
    float[] depthValues = Tensors.toFloats(depth);
    byte[] depthColored = null;
    if (options.colorMap() != null) {
      Tensor chw = Colormap.named(options.colorMap()).colorize(depth);                     // (3, H, W) uint8
      depthColored = Tensors.toBytes(chw.permute(1, 2, 0).contiguous());
    }
    float[] hwc = Tensors.toFloats(normalHwc);
    float[] chw = new float[hwc.length];
    byte[] normalColored = new byte[hwc.length];
    for (int i = 0; i < h * w; i++) {
      for (int c = 0; c < 3; c++) {
        float v = hwc[3 * i + c];
        chw[c * h * w + i] = v;
        // ((n + 1) / 2 * 255).astype(uint8) in float32
        normalColored[3 * i + c] = (byte) (int) ((v + 1f) / 2f * 255f);
      }
    }
    float[] unc = null;
    int[] uncShape = null;
    if (uncertainty != null) {
      long[] us = Tensors.shape(uncertainty);
      unc = Tensors.toFloats(uncertainty);
      uncShape = new int[] {(int) us[us.length - 2], (int) us[us.length - 1]};
    }
    return new GeoWizardPrediction(new Prediction(Modality.DEPTH, h, w, depthValues, depthColored, unc, uncShape),
        new Prediction(Modality.NORMALS, h, w, chw, normalColored, null, null));
  }

  @Override
  public void close() {
    unet.close();
    vae.close();
    imageEncoder.close();
  }
}
