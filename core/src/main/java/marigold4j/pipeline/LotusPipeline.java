package marigold4j.pipeline;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ModelIndex;
import marigold4j.image.Colormap;
import marigold4j.image.PilImage;
import marigold4j.image.Resize;
import marigold4j.models.clip.CLIPTextModel;
import marigold4j.models.clip.CLIPTokenizer;
import marigold4j.models.unet.UNet2DConditionConfig;
import marigold4j.models.unet.UNet2DConditionModel;
import marigold4j.models.vae.AutoencoderKL;
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
 * Lotus (EnVision-Research/Lotus) depth and normals estimation, step for step as its {@code LotusGPipeline} /
 * {@code LotusDPipeline} run under {@code infer.py}: the image in [-1, 1] resized in float32, a <em>sample</em> of the
 * VAE posterior as the RGB latent, one UNet call at a fixed timestep with the "predict the annotation" task embedding
 * (Lotus-G: beside a pure-noise latent), its output decoded as the prediction, resized back with nearest-exact.
 *
 * <p>Load once, call {@link #predict} per image, close at the end; each call keeps its native memory in its own scope.
 */
public final class LotusPipeline implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LotusPipeline.class);
  /** The width of Lotus' task embedding: {@code [sin a, sin b, cos a, cos b]} of a one-hot task. */
  public static final int TASK_EMBEDDING_DIM = 4;

  /** The two Lotus pipelines: generative (a noise latent beside the image latent) and discriminative. */
  public enum Variant {
    G("LotusGPipeline", 8, "generation"),
    D("LotusDPipeline", 4, "regression");

    private final String className;
    private final int unetInChannels;
    private final String mode;

    Variant(String className, int unetInChannels, String mode) {
      this.className = className;
      this.unetInChannels = unetInChannels;
      this.mode = mode;
    }

    /** The pipeline class Lotus' training scripts save ({@code model_index.json}'s {@code _class_name}). */
    public String className() {
      return className;
    }

    /** The UNet's input channels: the RGB latent (4), plus the noise latent (4) for Lotus-G. */
    public int unetInChannels() {
      return unetInChannels;
    }

    /** infer.py's {@code --mode} for this variant: {@code generation} or {@code regression}. */
    public String mode() {
      return mode;
    }

    /** The variant of infer.py's {@code --mode} value. */
    public static Variant ofMode(String mode) {
      for (Variant v : values()) if (v.mode.equals(mode)) return v;
      throw new IllegalArgumentException("--mode must be generation (Lotus-G) or regression (Lotus-D), got '"
          + mode + "'");
    }
  }

  /** What a checkpoint's contents say it is, and which file said so. */
  public record Identified(Variant variant, String evidence) {}

  private final Path checkpoint;
  private final Variant variant;
  private final UNet2DConditionModel unet;
  private final AutoencoderKL vae;
  private final Precision precision;
  private final Device device;
  private final Tensor emptyTextEmbedding;                 // (1, 2, D): "" with do_not_pad, computed once
  private final Tensor annotationTask;                     // (1, 4) in the model dtype

  private LotusPipeline(Path checkpoint, Variant variant, UNet2DConditionModel unet, AutoencoderKL vae,
      Precision precision, Device device, Tensor emptyTextEmbedding, Tensor annotationTask) {
    this.checkpoint = checkpoint;
    this.variant = variant;
    this.unet = unet;
    this.vae = vae;
    this.precision = precision;
    this.device = device;
    this.emptyTextEmbedding = emptyTextEmbedding;
    this.annotationTask = annotationTask;
  }

  /**
   * The task embedding infer.py passes: the one-hot "annotation" task {@code [1, 0]} as
   * {@code cat([sin(e), cos(e)])} = {@code [sin 1, sin 0, cos 1, cos 0]}, in float32 ({@code [0, 1]} would ask the
   * model to reconstruct the RGB image, which only training does).
   */
  public static float[] annotationTaskEmbedding() {
    // torch's float32 cos(1) is 0x3F0A5141, one ulp above the correctly rounded (float) Math.cos(1): the original's
    // values are written out rather than recomputed
    return new float[] {Float.intBitsToFloat(0x3F576AA4), 0f, Float.intBitsToFloat(0x3F0A5141), 1f};
  }

  /**
   * Whether {@code checkpoint} is a Lotus checkpoint, judged from its contents: {@code model_index.json}'s
   * {@code _class_name} ({@code LotusGPipeline} / {@code LotusDPipeline}), else a UNet whose {@code config.json}
   * declares Lotus' task embedding (a {@code projection} class embedding of width 4), the variant then following from
   * its input channels (8: G, 4: D).
   *
   * @throws CheckpointException naming {@code unet/config.json} when a Lotus pipeline's UNet cannot take the task
   *     embedding or has the other variant's input channels
   */
  public static Optional<Identified> identify(Path checkpoint) {
    Path unetConfig = checkpoint.resolve("unet").resolve("config.json");
    Path indexFile = checkpoint.resolve(ModelIndex.FILE);
    if (Files.isRegularFile(indexFile)) {
      String cls = ModelIndex.read(checkpoint).className();
      for (Variant v : Variant.values()) {
        if (!v.className.equals(cls)) continue;
        if (!Files.isRegularFile(unetConfig)) {
          throw new CheckpointException(unetConfig, "missing: a " + cls + " checkpoint needs its unet/ folder");
        }
        requireTaskEmbedding(UNet2DConditionConfig.read(unetConfig), unetConfig, v, cls);
        return Optional.of(new Identified(v, ModelIndex.FILE + ": _class_name '" + cls + "'"));
      }
    }
    if (!Files.isRegularFile(unetConfig)) return Optional.empty();
    UNet2DConditionConfig c;
    try {
      c = UNet2DConditionConfig.read(unetConfig);
    } catch (CheckpointException e) {
      LOG.debug("{} is not a readable Lotus UNet: {}", unetConfig, e.getMessage());
      return Optional.empty();
    }
    if (!takesTaskEmbedding(c)) return Optional.empty();
    for (Variant v : Variant.values()) {
      if (c.inChannels() == v.unetInChannels) {
        return Optional.of(new Identified(v, "unet/config.json: Lotus' task embedding (projection class embedding of "
            + "width " + TASK_EMBEDDING_DIM + ") and in_channels " + c.inChannels()));
      }
    }
    return Optional.empty();
  }

  private static boolean takesTaskEmbedding(UNet2DConditionConfig c) {
    return c.hasProjectionClassEmbedding() && c.projectionClassEmbeddingsInputDim() == TASK_EMBEDDING_DIM;
  }

  private static void requireTaskEmbedding(UNet2DConditionConfig c, Path file, Variant v, String cls) {
    if (!takesTaskEmbedding(c)) {
      throw new CheckpointException(file, "this UNet cannot take Lotus' task embedding, which " + cls + " passes to "
          + "every call: expected class_embed_type \"projection\" with projection_class_embeddings_input_dim "
          + TASK_EMBEDDING_DIM + ", got class_embed_type " + quoted(c.classEmbedType())
          + " / projection_class_embeddings_input_dim " + c.projectionClassEmbeddingsInputDim());
    }
    if (c.inChannels() != v.unetInChannels) {
      throw new CheckpointException(file, cls + " feeds its UNet " + v.unetInChannels + " channels ("
          + (v == Variant.G ? "RGB latent + noise latent" : "the RGB latent") + "), but in_channels is "
          + c.inChannels());
    }
  }

  private static String quoted(String s) {
    return s == null ? "null" : "\"" + s + "\"";
  }

  /** Loads a checkpoint folder in fp32 on the CPU. */
  public static LotusPipeline load(Path checkpoint) {
    return load(checkpoint, Precision.FP32, "cpu");
  }

  /**
   * Loads a Lotus checkpoint folder ({@code unet/}, {@code vae/}, {@code text_encoder/}, {@code tokenizer/}; the
   * {@code scheduler/} and {@code feature_extractor/} that Lotus' checkpoints carry are never used and not read).
   *
   * @throws CheckpointException naming the file when it is not a Lotus checkpoint or a component is missing or broken
   */
  public static LotusPipeline load(Path checkpoint, Precision precision, String device) {
    Engine.init();
    Device dev = Engine.device(device);
    Identified id = identify(checkpoint).orElseThrow(() -> new CheckpointException(checkpoint, "not a Lotus "
        + "checkpoint: no LotusGPipeline / LotusDPipeline in " + ModelIndex.FILE + " and no UNet with Lotus' task "
        + "embedding in unet/config.json"));
    for (String c : List.of("unet", "vae", "text_encoder", "tokenizer")) {
      if (!Files.isDirectory(checkpoint.resolve(c))) {
        throw new CheckpointException(checkpoint, "missing component folder '" + c + "/' (a Lotus checkpoint has "
            + "unet/, vae/, text_encoder/ and tokenizer/)");
      }
    }
    try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
      UNet2DConditionModel unet = UNet2DConditionModel.load(checkpoint.resolve("unet"), precision.dtype());
      AutoencoderKL vae = AutoencoderKL.load(checkpoint.resolve("vae"), precision.dtype());
      Tensor empty;
      try (CLIPTextModel textEncoder = CLIPTextModel.load(checkpoint.resolve("text_encoder"))) {
        CLIPTokenizer tokenizer = CLIPTokenizer.load(checkpoint.resolve("tokenizer"));
        // the pipelines encode the prompt '' without padding: (1, 2, D) (BOS, EOS)
        Tensor ids = tokenizer.encode("", CLIPTokenizer.Padding.DO_NOT_PAD, true).idsTensor();
        empty = textEncoder.forward(ids).to(dev, precision.dtype());
      }
      Tensor task = Tensors.fromFloats(annotationTaskEmbedding(), 1, TASK_EMBEDDING_DIM).to(dev, precision.dtype());
      empty.retainReference();                             // long-lived: outlive this scope, freed in close()
      task.retainReference();
      unet.to(dev, precision.dtype());
      vae.to(dev, precision.dtype());
      LOG.info("loaded {} (Lotus-{}, {}; {}, {} on {}; scheduler and feature extractor not used)", checkpoint,
          id.variant(), id.evidence(), precision.label(), dev.str().getString());
      return new LotusPipeline(checkpoint, id.variant(), unet, vae, precision, dev, empty, task);
    } finally {
      Scopes.returnFreedMemory();                          // the text encoder and the read buffers are gone
    }
  }

  public Variant variant() {
    return variant;
  }

  public Precision precision() {
    return precision;
  }

  /** The checkpoint folder. */
  public Path checkpoint() {
    return checkpoint;
  }

  /**
   * Predicts one image as infer.py does. Depth: (H, W) in [0, 1] as infer.py saves it (the decoded channels' mean,
   * not min-max normalised), coloured with Spectral after a min-max normalisation (reversed for disparity). Normals:
   * (3, H, W) in [-1, 1] ({@code 2 x - 1} of the decoded image that infer.py saves in [0, 1]), coloured as
   * {@code (x * 255).astype(uint8)} of that image.
   *
   * @param noise the run's draws ({@link LotusNoise#seeded}); the VAE sample needs one for Lotus-D too
   */
  public Prediction predict(PilImage image, LotusOptions options, LotusNoise noise) {
    return predict(image, options, noise, null);
  }

  /**
   * As {@link #predict(PilImage, LotusOptions, LotusNoise)}, reporting the stages to {@code tap} (valid during the
   * call only) under the goldens' names: {@code rgb_resized} (when resized), {@code vae_encode.mean},
   * {@code vae_encode.std}, {@code unet.sample}, {@code unet.out}, {@code vae_decode.out}, {@code final.pred}
   * ((H, W, 3) in [0, 1]).
   */
  Prediction predict(PilImage image, LotusOptions options, LotusNoise noise, BiConsumer<String, Tensor> tap) {
    if (noise == null) {
      throw new IllegalArgumentException("Lotus samples the VAE posterior: a call needs its noise (LotusNoise)");
    }
    BiConsumer<String, Tensor> report = tap == null ? (k, v) -> { } : tap;
    try (NoGradGuard ng = new NoGradGuard(); PointerScope call = new PointerScope()) {
      Tensor pred = predictImage(image, options, noise, report);                    // (H, W, 3) float32 in [0, 1]
      report.accept("final.pred", pred);
      return options.task() == Modality.NORMALS ? normals(pred) : depth(pred, options.disparity());
    } finally {
      Scopes.returnFreedMemory();
    }
  }

  /** The pipeline's {@code images[0]}: (H, W, 3) float32 in [0, 1] on the CPU. */
  private Tensor predictImage(PilImage image, LotusOptions o, LotusNoise noise, BiConsumer<String, Tensor> report) {
    long inH = image.height();
    long inW = image.width();
    // infer.py: float32 CHW in [0, 255], then x / 127.5 - 1 (Marigold divides by 255 after resizing uint8)
    Tensor rgb = image.toRgbChw().unsqueeze(0).to(torch.ScalarType.Float).div(F.s(127.5)).sub(F.s(1.0));
    if (o.processingRes() > 0) {
      // resized in float32, antialiased, no clamping after bicubic; small images are upscaled
      long[] hw = Resize.maxResSize(inH, inW, o.processingRes());
      if (hw[0] != inH || hw[1] != inW) rgb = Resize.resize(rgb, hw[0], hw[1], o.resampleMethod(), true);
      report.accept("rgb_resized", rgb);
    }
    Tensor moments = vae.encodeMoments(rgb.to(device, precision.dtype()));          // (1, 8, h, w)
    int c = vae.config().latentChannels();
    Tensor mean = moments.narrow(1, 0, c);                                          // (1, 4, h, w)
    Tensor std = F.clamp(moments.narrow(1, c, c), -30.0, 20.0).mul(F.s(0.5)).exp();
    report.accept("vae_encode.mean", mean);
    report.accept("vae_encode.std", std);
    long[] latentShape = Tensors.shape(mean);
    // Lotus-G's noise latent is drawn (prepare_latents) before the posterior sample (encode)
    Tensor noiseLatent = variant == Variant.G ? noise.latentNoise(latentShape).to(device, precision.dtype()) : null;
    Tensor eps = noise.posteriorNoise(latentShape).to(device, precision.dtype());
    double scale = vae.scalingFactor();
    Tensor rgbLatent = mean.add(std.mul(eps)).mul(F.s(scale));                      // (1, 4, h, w)
    Tensor sample = noiseLatent == null ? rgbLatent : F.cat(1, rgbLatent, noiseLatent);   // (1, 4|8, h, w)
    report.accept("unet.sample", sample);
    Tensor timestep = torch.tensor(new long[] {o.timestep()}).squeeze().to(device, torch.ScalarType.Long);  // 0-dim
    // One step, no scheduler: the output is the x0 latent (Lotus-G keeps it as is when given one timestep)
    Tensor out = unet.forward(sample, timestep, emptyTextEmbedding, annotationTask);  // (1, 4, h, w)
    report.accept("unet.out", out);
    Tensor decoded = vae.decode(out.div(F.s(scale))).to(torch.ScalarType.Float).cpu();  // (1, 3, 8h, 8w)
    report.accept("vae_decode.out", decoded);
    Tensor pred = F.clamp(decoded.div(F.s(2.0)).add(F.s(0.5)), 0.0, 1.0).squeeze(0);  // (3, H', W')
    if (o.matchInputRes()) {
      // back to the input size with nearest-exact whatever --resample_method says, as the original does
      pred = Resize.resize(pred, inH, inW, Resize.Interpolation.NEAREST_EXACT, false);
    }
    return pred.permute(1, 2, 0).contiguous();                                      // (H, W, 3)
  }

  /** infer.py's depth outputs: the channel mean in float32, colourised after a min-max normalisation. */
  private static Prediction depth(Tensor predHwc, boolean disparity) {
    long[] s = Tensors.shape(predHwc);
    int h = (int) s[0];
    int w = (int) s[1];
    float[] hwc = Tensors.toFloats(predHwc);
    float[] depth = new float[h * w];
    for (int i = 0; i < depth.length; i++) {
      float sum = hwc[3 * i] + hwc[3 * i + 1];
      sum += hwc[3 * i + 2];
      depth[i] = sum / 3f;                                 // numpy's float32 mean over the last axis
    }
    return depthPrediction(depth, h, w, disparity, null);
  }

  /**
   * A depth map (H, W) as Lotus presents it: colourised as infer.py's {@code colorize_depth_map} does (min-max
   * normalised in float32, no guard, reversed for disparity), with an optional uncertainty (H, W).
   */
  public static Prediction depthPrediction(float[] depth, int h, int w, boolean disparity, float[] uncertainty) {
    float min = Float.POSITIVE_INFINITY;
    float max = Float.NEGATIVE_INFINITY;
    for (float d : depth) {
      min = Math.min(min, d);
      max = Math.max(max, d);
    }
    // colorize_depth_map: (d - min) / (max - min) in float32, no guard (a constant map is NaN, drawn black)
    float range = max - min;
    float[] unit = new float[depth.length];
    for (int i = 0; i < depth.length; i++) {
      float d = (depth[i] - min) / range;
      unit[i] = disparity ? 1f - d : d;                    // --disparity: cm(1 - d)
    }
    Tensor chw = Colormap.spectral().colorize(Tensors.fromFloats(unit, h, w));       // (3, H, W) uint8
    byte[] colored = Tensors.toBytes(chw.permute(1, 2, 0).contiguous());
    return new Prediction(Modality.DEPTH, h, w, depth, colored, uncertainty,
        uncertainty == null ? null : new int[] {h, w});
  }

  /** infer.py's normal outputs: the decoded image itself, {@code (x * 255).astype(uint8)} for the PNG. */
  private static Prediction normals(Tensor predHwc) {
    long[] s = Tensors.shape(predHwc);
    int h = (int) s[0];
    int w = (int) s[1];
    float[] hwc = Tensors.toFloats(predHwc);
    int plane = h * w;
    float[] chw = new float[hwc.length];
    byte[] colored = new byte[hwc.length];
    for (int i = 0; i < plane; i++) {
      for (int c = 0; c < 3; c++) {
        float x = hwc[3 * i + c];
        chw[c * plane + i] = 2f * x - 1f;
        colored[3 * i + c] = (byte) (int) (x * 255f);      // the decoded image itself, as infer.py saves it
      }
    }
    return new Prediction(Modality.NORMALS, h, w, chw, colored, null, null);
  }

  /**
   * A normal map (3, H, W) in [-1, 1] as Lotus presents it: the PNG is {@code ((n + 1) / 2 * 255).astype(uint8)},
   * with an optional uncertainty (H, W).
   */
  public static Prediction normalsPrediction(float[] chw, int h, int w, float[] uncertainty) {
    int plane = h * w;
    byte[] colored = new byte[chw.length];
    for (int i = 0; i < plane; i++) {
      for (int c = 0; c < 3; c++) colored[3 * i + c] = (byte) (int) ((chw[c * plane + i] + 1f) / 2f * 255f);
    }
    return new Prediction(Modality.NORMALS, h, w, chw, colored, uncertainty,
        uncertainty == null ? null : new int[] {h, w});
  }

  @Override
  public void close() {
    unet.close();
    vae.close();
    emptyTextEmbedding.releaseReference();
    annotationTask.releaseReference();
  }
}
