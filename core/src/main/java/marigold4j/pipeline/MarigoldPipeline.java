package marigold4j.pipeline;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ModelIndex;
import marigold4j.ensemble.DepthEnsemble;
import marigold4j.ensemble.NormalsEnsemble;
import marigold4j.image.Colormap;
import marigold4j.image.ImageInput;
import marigold4j.image.Resize;
import marigold4j.models.clip.CLIPTextModel;
import marigold4j.models.clip.CLIPTokenizer;
import marigold4j.models.unet.UNet2DConditionConfig;
import marigold4j.models.unet.UNet2DConditionModel;
import marigold4j.models.vae.AutoencoderKL;
import marigold4j.random.NoiseSource;
import marigold4j.random.PyramidNoise;
import marigold4j.schedulers.DDIMScheduler;
import marigold4j.schedulers.SchedulerConfig;
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
 * Marigold / E2E-FT depth and normals estimation, step for step as the original {@code MarigoldPipeline}: resize,
 * normalise, VAE-encode, denoise with DDIM from an initial latent, decode, post-process, optionally ensemble.
 *
 * <p>Load once, call {@link #predict} per image, close at the end. Each call keeps its native memory in its own
 * scope, so memory stays flat over any number of images.
 */
public final class MarigoldPipeline implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MarigoldPipeline.class);
  private static final double LATENT_SCALE = LatentDiffusion.MARIGOLD_LATENT_SCALE;

  private final Path checkpoint;
  private final ModelIndex index;
  private final UNet2DConditionModel unet;
  private final AutoencoderKL vae;
  private final DDIMScheduler scheduler;
  private final Precision precision;
  private final Device device;
  private final Tensor emptyTextEmbedding;                 // (1, 2, D): "" with do_not_pad, computed once
  private StageTimer stageTimer;                           // null: no timing

  private MarigoldPipeline(Path checkpoint, ModelIndex index, UNet2DConditionModel unet, AutoencoderKL vae,
      DDIMScheduler scheduler, Precision precision, Device device, Tensor emptyTextEmbedding) {
    this.checkpoint = checkpoint;
    this.index = index;
    this.unet = unet;
    this.vae = vae;
    this.scheduler = scheduler;
    this.precision = precision;
    this.device = device;
    this.emptyTextEmbedding = emptyTextEmbedding;
  }

  /** Loads a checkpoint folder in the diffusers layout in fp32 on the CPU. */
  public static MarigoldPipeline load(Path checkpoint) {
    return load(checkpoint, Precision.FP32, "cpu");
  }

  /**
   * Loads a checkpoint folder ({@code model_index.json}, {@code unet/}, {@code vae/}, {@code text_encoder/},
   * {@code tokenizer/}, {@code scheduler/}).
   *
   * @param device {@code cpu}, {@code cuda} or {@code cuda:N}
   * @throws CheckpointException naming the file when a component is missing or does not match its config
   */
  public static MarigoldPipeline load(Path checkpoint, Precision precision, String device) {
    Engine.init();
    Device dev = Engine.device(device);
    ModelIndex index = ModelIndex.read(checkpoint);
    for (String c : List.of("unet", "vae", "text_encoder", "tokenizer", "scheduler")) {
      if (!Files.isDirectory(checkpoint.resolve(c))) {
        throw new CheckpointException(checkpoint, "missing component folder '" + c + "/' (a Marigold checkpoint has "
            + "unet/, vae/, text_encoder/, tokenizer/ and scheduler/)");
      }
    }
    try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
      // Read straight into the pipeline's dtype (tensor by tensor): a bf16 load never holds the fp32 weights.
      UNet2DConditionModel unet = UNet2DConditionModel.load(checkpoint.resolve("unet"), precision.dtype());
      AutoencoderKL vae = AutoencoderKL.load(checkpoint.resolve("vae"), precision.dtype());
      DDIMScheduler scheduler = DDIMScheduler.load(checkpoint.resolve("scheduler"));
      Tensor empty;
      try (CLIPTextModel textEncoder = CLIPTextModel.load(checkpoint.resolve("text_encoder"))) {
        CLIPTokenizer tokenizer = CLIPTokenizer.load(checkpoint.resolve("tokenizer"));
        // As the original's encode_empty_text: no padding, so the embedding is (1, 2, D) (BOS, EOS).
        Tensor ids = tokenizer.encode("", CLIPTokenizer.Padding.DO_NOT_PAD, true).idsTensor();
        empty = textEncoder.forward(ids).to(dev, precision.dtype());
      }
      empty.retainReference();                             // long-lived: outlives this scope, freed in close()
      unet.to(dev, precision.dtype());
      vae.to(dev, precision.dtype());
      LOG.info("loaded {} ({}, {} on {})", checkpoint, index.className(), precision.label(), dev.str().getString());
      return new MarigoldPipeline(checkpoint, index, unet, vae, scheduler, precision, dev, empty);
    } finally {
      Scopes.returnFreedMemory();                          // the text encoder and the read buffers are gone
    }
  }

  /**
   * The released Marigold / E2E-FT architecture (SD2 UNet with 8 input channels, SD2 VAE) with random weights, for
   * benchmarks: same sizes and the same work per image as a real checkpoint, no download. See
   * {@link #random(MarigoldArchitecture, Precision, String, long)}.
   */
  public static MarigoldPipeline randomFullSize(Precision precision, String device, long seed) {
    return random(MarigoldArchitecture.FULL_SIZE, precision, device, seed);
  }

  /**
   * A pipeline of the given architecture with random weights ({@link marigold4j.nn.Module#initRandom}: normal(0,
   * 0.02) weights, zero biases, unit norm scales) and the SD2 DDIM scheduler. No text encoder is built: the
   * empty-prompt embedding, which a real checkpoint computes once from its text encoder, is a random (1, 2, D)
   * normal(0, 1) tensor here, D being the UNet's {@code cross_attention_dim}. Its predictions are meaningless; its
   * speed and memory are those of the real model (the text encoder, run once at load and then released, aside).
   *
   * @param seed seeds a private generator: the same seed builds the same model, and the global generator is untouched
   */
  public static MarigoldPipeline random(MarigoldArchitecture architecture, Precision precision, String device,
      long seed) {
    Engine.init();
    Device dev = Engine.device(device);
    UNet2DConditionConfig unetConfig = architecture.unetConfig();
    UNet2DConditionModel unet = UNet2DConditionModel.fromConfig(unetConfig);
    AutoencoderKL vae = new AutoencoderKL(architecture.vaeConfig());
    try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
      unet.initRandom(seed, dev, precision.dtype());
      vae.initRandom(seed + 1, dev, precision.dtype());
      org.bytedeco.pytorch.Generator gen = F.generator(seed + 2);
      long textDim = unetConfig.crossAttentionDim().get(0);
      Tensor empty = F.normal(0.0, 1.0, new long[] {1, 2, textDim}, gen).to(dev, precision.dtype());
      gen.close();
      empty.retainReference();                             // long-lived, as in load()
      LOG.info("built {} Marigold architecture with random weights ({} UNet + {} VAE parameters, {} on {})",
          architecture.cliName(), unet.numParameters(), vae.numParameters(), precision.label(),
          dev.str().getString());
      return new MarigoldPipeline(null, null, unet, vae, new DDIMScheduler(SchedulerConfig.stableDiffusion2()),
          precision, dev, empty);
    }
  }

  /**
   * Reports the time of each stage of later {@link #predict} calls to {@code timer} (null stops it). Timing costs two
   * {@code nanoTime} calls per stage.
   */
  public void setStageTimer(StageTimer timer) {
    this.stageTimer = timer;
  }

  /** The checkpoint's own defaults where its model_index.json declares them (newer Marigold releases do). */
  public MarigoldOptions defaults(Modality modality) {
    MarigoldOptions o = MarigoldOptions.e2eDefaults(modality);
    if (index == null) return o;                           // random weights: no model_index.json
    OptionalInt steps = index.defaultDenoisingSteps();
    OptionalInt res = index.defaultProcessingResolution();
    if (steps.isPresent()) o = o.withDenoisingSteps(steps.getAsInt());
    if (res.isPresent()) o = o.withProcessingRes(res.getAsInt());
    return o;
  }

  public Precision precision() {
    return precision;
  }

  /** The checkpoint folder; null for a pipeline with random weights. */
  public Path checkpoint() {
    return checkpoint;
  }

  /**
   * Seeds the engine's generator and Python's {@code random} as run.py's {@code seed_all} does, and returns the noise
   * source for all images of a run.py-style loop. run.py iterates each call's DataLoader through {@code tqdm.auto},
   * whose constructor creates one iterator before the loop creates another: two base-seed draws per call (matched
   * against the original's recorded runs), which this source reproduces.
   */
  public static NoiseSource seedLikeRunPy(long seed) {
    Engine.init();
    torch.manual_seed(seed);
    return NoiseSource.torch(new marigold4j.random.PythonRandom(seed), 2);
  }

  /** Predicts from an in-memory image (alpha is dropped, as PIL's convert("RGB") does). */
  public Prediction predict(BufferedImage image, MarigoldOptions options, NoiseSource noise) {
    try (PointerScope scope = new PointerScope()) {
      return predict(ImageInput.rgbFromBufferedImage(image), options, noise);
    }
  }

  /**
   * Predicts from a uint8 RGB image tensor (3, H, W).
   *
   * @param noise where random draws come from (used by gaussian / pyramid noise); {@link NoiseSource#torch} with a
   *     seeded generator reproduces the original's draws; may be null with {@link NoiseType#ZEROS}
   */
  public Prediction predict(Tensor rgb, MarigoldOptions options, NoiseSource noise) {
    try {
      return predictScoped(rgb, options, noise);
    } finally {
      Scopes.returnFreedMemory();
    }
  }

  private Prediction predictScoped(Tensor rgb, MarigoldOptions options, NoiseSource noise) {
    long[] inShape = Tensors.shape(rgb);
    if (inShape.length != 3 || inShape[0] != 3) {
      throw new IllegalArgumentException("expected an RGB image tensor (3, H, W), got " + java.util.Arrays.toString(inShape));
    }
    boolean normals = options.modality() == Modality.NORMALS;
    if (noise == null && options.noise() != NoiseType.ZEROS) {
      throw new IllegalArgumentException(options.noise() + " noise needs a NoiseSource");
    }
    try (NoGradGuard ng = new NoGradGuard(); PointerScope call = new PointerScope()) {
      Tensor resized = options.processingRes() > 0
          ? Resize.resizeMaxRes(rgb, options.processingRes(), options.resampleMethod()) : rgb;
      // rgb / 255 * 2 - 1 in float32, as the original divides the uint8 tensor by a Python float
      Tensor rgbNorm = resized.to(torch.ScalarType.Float).div(F.s(255.0)).mul(F.s(2.0)).sub(F.s(1.0))
          .to(device, precision.dtype());
      int n = options.ensembleSize();
      int bs = options.batchSize() > 0 ? options.batchSize() : automaticBatchSize(n);
      // The original iterates a torch DataLoader, whose iterator draws one int64 seed from the global generator
      // before the first batch: reproduce it so seeded runs draw the same noise.
      if (noise != null) noise.dataLoaderIterator();        // the original batches through a DataLoader
      List<Tensor> preds = new ArrayList<>();
      for (int start = 0; start < n; start += bs) {
        int b = Math.min(bs, n - start);
        Tensor batch = rgbNorm.unsqueeze(0).expand(b, -1, -1, -1).contiguous();
        preds.add(singleInfer(batch, options, noise, call));
      }
      Tensor stacked = F.cat(0, preds).to(torch.ScalarType.Float).cpu(); // (N, 1, h, w) depth or (N, 3, h, w) normals
      Tensor pred;
      Tensor uncertainty = null;
      if (n > 1) {
        if (normals) {
          pred = NormalsEnsemble.ensemble(stacked).normals();
        } else {
          DepthEnsemble.Result r = new DepthEnsemble().ensemble(stacked.squeeze(1));
          pred = r.depth();
          uncertainty = r.uncertainty();
        }
      } else {
        pred = normals ? stacked.squeeze(0) : stacked.squeeze(0).squeeze(0);
      }
      if (normals) {
        pred = pred.div(F.norm2(pred, new long[] {0}, true).add(F.s(1e-5)));
      } else {
        double min = pred.min().item_double();
        double max = pred.max().item_double();
        pred = max == min ? torch.zeros_like(pred) : pred.sub(F.s(min)).div(F.s(max - min));
      }
      if (options.matchInputRes()) {
        Tensor chw = normals ? pred : pred.unsqueeze(0);
        pred = Resize.resize(chw, inShape[1], inShape[2], options.resampleMethod(), true);
        if (!normals) pred = pred.squeeze(0);
      }
      return toPrediction(pred, uncertainty, options);
    }
  }

  /** One batch of ensemble members through the diffusion loop: (B, 3, h, w) in [-1, 1] to (B, 1|3, h', w'). */
  private Tensor singleInfer(Tensor rgbIn, MarigoldOptions options, NoiseSource noise, PointerScope call) {
    DDIMScheduler sched = scheduler.withTimestepSpacing(options.timestepSpacing());
    sched.setTimesteps(options.denoisingSteps());
    long[] timesteps = sched.timesteps();
    long start = System.nanoTime();
    Tensor rgbLatent;
    // Each stage in its own scope: its activations are freed when it ends, not when the call does, so peak memory
    // is the largest stage's rather than the sum of all three.
    try (PointerScope encode = new PointerScope()) {
      rgbLatent = vae.encodeMean(rgbIn).mul(F.s(LATENT_SCALE));         // (B, 4, h, w)
      call.attach(rgbLatent);
    }
    timed(StageTimer.Stage.VAE_ENCODE, start);
    Tensor latent = switch (options.noise()) {
      case ZEROS -> torch.zeros_like(rgbLatent);
      case GAUSSIAN -> noise.randn(Tensors.shape(rgbLatent)).to(device, precision.dtype());
      case PYRAMID -> PyramidNoise.marigold(rgbLatent, noise).to(device, precision.dtype());
    };
    Tensor text = emptyTextEmbedding.repeat(rgbLatent.size(0), 1, 1);  // (B, 2, D)
    start = System.nanoTime();
    latent = LatentDiffusion.denoise(sched, timesteps, rgbLatent, latent, (unetIn, timestep) -> unet.forward(unetIn,
        torch.tensor(new long[] {timestep}).squeeze().to(device, torch.ScalarType.Long), text), precision.dtype(), call);
    timed(StageTimer.Stage.UNET, start);
    // The UNet's freed activations (mostly below glibc's mmap threshold) stay in the heap; returned now, they do not
    // add to the decoder's peak at full resolution (about 0.5 GB at 768x576 in fp32; the trim takes 50-120 ms).
    Scopes.returnFreedMemory();
    start = System.nanoTime();
    try (PointerScope decode = new PointerScope()) {
      // Post-processing in fp32 (a no-op for fp32 models): in bf16 the channel mean and the (x + 1) / 2 would round
      // depth to 2^-8 steps, which the min-max normalisation then magnifies.
      Tensor decoded = vae.decode(latent.div(F.s(LATENT_SCALE))).to(torch.ScalarType.Float);   // (B, 3, H, W)
      timed(StageTimer.Stage.VAE_DECODE, start);
      Tensor out = options.modality() == Modality.NORMALS ? TaskHeads.unitNormals(decoded)
          : TaskHeads.depthUnitRange(decoded);
      call.attach(out);
      return out;
    }
  }

  private void timed(StageTimer.Stage stage, long startNanos) {
    StageTimer timer = stageTimer;
    if (timer != null) timer.record(stage, System.nanoTime() - startNanos);
  }

  /** find_batch_size of the original: 1 on CPU (its table is for GPUs; ensembles run one member per batch here). */
  private int automaticBatchSize(int ensembleSize) {
    return device.is_cuda() ? Math.min(ensembleSize, 2) : 1;
  }

  private static Prediction toPrediction(Tensor pred, Tensor uncertainty, MarigoldOptions options) {
    long[] s = Tensors.shape(pred);
    boolean normals = options.modality() == Modality.NORMALS;
    int h = (int) s[s.length - 2];
    int w = (int) s[s.length - 1];
    Tensor clipped = normals ? F.clamp(pred, -1.0, 1.0) : F.clamp(pred, 0.0, 1.0);
    float[] values = Tensors.toFloats(clipped.to(torch.ScalarType.Float));
    byte[] colored = null;
    if (normals) {
      colored = new byte[3 * h * w];
      for (int c = 0; c < 3; c++) {
        for (int i = 0; i < h * w; i++) {
          // ((n + 1) / 2 * 255).astype(uint8) in float32
          colored[3 * i + c] = (byte) (int) ((values[c * h * w + i] + 1f) / 2f * 255f);
        }
      }
    } else if (options.colorMap() != null) {
      Tensor chw = Colormap.named(options.colorMap()).colorize(clipped.to(torch.ScalarType.Float));   // (3, H, W)
      colored = Tensors.toBytes(chw.permute(1, 2, 0).contiguous());
    }
    float[] unc = null;
    int[] uncShape = null;
    if (uncertainty != null) {
      long[] us = Tensors.shape(uncertainty);
      unc = Tensors.toFloats(uncertainty);
      uncShape = new int[] {(int) us[us.length - 2], (int) us[us.length - 1]};
    }
    return new Prediction(options.modality(), h, w, values, colored, unc, uncShape);
  }

  @Override
  public void close() {
    unet.close();
    vae.close();
    emptyTextEmbedding.releaseReference();
  }
}
