package marigold4j.pipeline.diffusers;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ModelIndex;
import marigold4j.image.Resize.Interpolation;
import marigold4j.models.clip.CLIPTextModel;
import marigold4j.models.clip.CLIPTokenizer;
import marigold4j.models.unet.UNet2DConditionConfig;
import marigold4j.models.unet.UNet2DConditionModel;
import marigold4j.models.vae.AutoencoderKL;
import marigold4j.pipeline.Precision;
import marigold4j.pipeline.diffusers.MarigoldEnsembles.DepthSettings;
import marigold4j.pipeline.diffusers.MarigoldEnsembles.Reduction;
import marigold4j.pipeline.diffusers.MarigoldVisuals.PredictionSpace;
import marigold4j.schedulers.Scheduler;
import marigold4j.schedulers.Schedulers;
import marigold4j.schedulers.StepOutput;
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
 * diffusers 0.33.1's {@code MarigoldDepthPipeline}, {@code MarigoldNormalsPipeline} and
 * {@code MarigoldIntrinsicsPipeline} in one class (they differ only in the decoding head and the ensembling): the
 * checkpoints {@code prs-eth/marigold-depth-v1-1}, {@code -normals-v1-1}, {@code -iid-appearance-v1-1},
 * {@code -iid-lighting-v1-1} and {@code -depth-lcm-v1-0}. Call semantics follow {@code __call__} step for step:
 * canonical input, resize + replicate pad, VAE mean latent x scaling factor repeated per ensemble member, one noise
 * draw for all members, the scheduler loop per chunk of {@code batch_size} (the final latent is the last step's
 * {@code prev_sample}), decoding in chunks, unpadding, ensembling, output resize without antialiasing.
 *
 * <p>Load once, call {@link #predict} per batch of images, close at the end; each call frees its native memory.
 */
public final class MarigoldDiffusersPipeline implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MarigoldDiffusersPipeline.class);

  /** What the checkpoint predicts ({@code prediction_type}). */
  public enum Task {
    DEPTH, NORMALS, INTRINSICS;

    public String jsonName() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** A source of {@code randn_tensor(shape, generator)} draws: float32, CPU. */
  @FunctionalInterface
  public interface Randn extends Scheduler.StepNoise {}

  /** A float32 array in C order with its shape (no native memory). */
  public record Floats(float[] data, long[] shape) {
    static Floats of(Tensor t) {
      return t == null ? null : new Floats(Tensors.toFloats(t.to(torch.ScalarType.Float).cpu().contiguous()),
          Tensors.shape(t));
    }

    /** A new CPU tensor of these values (owned by the caller). */
    public Tensor toTensor() {
      return Tensors.fromFloats(data, shape);
    }
  }

  /**
   * The result of one call, in Java arrays: {@code prediction} (N, 1, H, W) depth in [0, 1] (bicubic may
   * overshoot), (N, 3, H, W) unit normals, or (N*T, 3, H, W) intrinsic targets (image-major); {@code uncertainty} of
   * the same layout with 1 channel (depth, normals) or 3 (intrinsics), or null; {@code latent} (N*E, 4T, h, w) or null.
   */
  public record Output(Floats prediction, Floats uncertainty, Floats latent) {}

  private final Path checkpoint;
  private final Task task;
  private final UNet2DConditionModel unet;
  private final AutoencoderKL vae;
  private final Scheduler scheduler;
  private final Precision precision;
  private final Device device;
  private final Tensor emptyTextEmbedding;
  private final boolean scaleInvariant;
  private final boolean shiftInvariant;
  private final boolean useFullZRange;
  private final List<IntrinsicTarget> targets;      // the predicted targets, in order (intrinsics)
  private final Map<String, IntrinsicTarget> properties;
  private final Integer defaultSteps;
  private final Integer defaultResolution;
  private final int vaeScaleFactor;
  private final int latentChannels;

  private MarigoldDiffusersPipeline(Path checkpoint, Task task, UNet2DConditionModel unet, AutoencoderKL vae,
      Scheduler scheduler, Precision precision, Device device, Tensor empty, boolean scaleInvariant,
      boolean shiftInvariant, boolean useFullZRange, List<IntrinsicTarget> targets,
      Map<String, IntrinsicTarget> properties, Integer defaultSteps, Integer defaultResolution) {
    this.checkpoint = checkpoint;
    this.task = task;
    this.unet = unet;
    this.vae = vae;
    this.scheduler = scheduler;
    this.precision = precision;
    this.device = device;
    this.emptyTextEmbedding = empty;
    this.scaleInvariant = scaleInvariant;
    this.shiftInvariant = shiftInvariant;
    this.useFullZRange = useFullZRange;
    this.targets = targets;
    this.properties = properties;
    this.defaultSteps = defaultSteps;
    this.defaultResolution = defaultResolution;
    this.vaeScaleFactor = 1 << (vae.config().blockOutChannels().size() - 1);
    this.latentChannels = vae.config().latentChannels();
  }

  /** The task a checkpoint's {@code model_index.json} declares, or an error naming the file. */
  public static Task taskOf(ModelIndex index) {
    Object declared = index.extra("prediction_type").orElse(null);
    String cls = index.className();
    Task fromClass = switch (cls) {
      case "MarigoldDepthPipeline" -> Task.DEPTH;
      case "MarigoldNormalsPipeline" -> Task.NORMALS;
      case "MarigoldIntrinsicsPipeline" -> Task.INTRINSICS;
      default -> null;
    };
    if (declared == null) {
      if (fromClass == null) throw new CheckpointException(index.file(), "declares no prediction_type");
      return fromClass;
    }
    Task t = switch (String.valueOf(declared)) {
      case "depth", "disparity" -> Task.DEPTH;
      case "normals" -> Task.NORMALS;
      case "intrinsics" -> Task.INTRINSICS;
      default -> throw new CheckpointException(index.file(), "unknown prediction_type '" + declared
          + "' (a Marigold pipeline predicts depth, normals or intrinsics)");
    };
    if (fromClass != null && fromClass != t) {
      throw new CheckpointException(index.file(), "prediction_type '" + declared + "' does not match _class_name "
          + cls);
    }
    return t;
  }

  /**
   * Parses {@code target_properties}: the predicted targets in {@code target_names} order, and every property entry
   * by name (sub-targets of stacks included).
   */
  public static List<IntrinsicTarget> targetsOf(ModelIndex index, Map<String, IntrinsicTarget> all) {
    Object raw = index.extra("target_properties").orElse(null);
    if (!(raw instanceof Map<?, ?> map)) {
      throw new CheckpointException(index.file(), "an intrinsics checkpoint needs target_properties (an object)");
    }
    Object names = map.get("target_names");
    if (!(names instanceof List<?> list) || list.isEmpty()) {
      throw new CheckpointException(index.file(), "target_properties.target_names must be a non-empty list");
    }
    for (Map.Entry<?, ?> e : map.entrySet()) {
      if (e.getKey().equals("target_names")) continue;
      if (!(e.getValue() instanceof Map<?, ?> p)) {
        throw new CheckpointException(index.file(), "target_properties." + e.getKey() + " must be an object");
      }
      String name = String.valueOf(e.getKey());
      PredictionSpace space;
      try {
        space = PredictionSpace.parse(p.get("prediction_space") == null ? null : String.valueOf(p.get("prediction_space")));
      } catch (IllegalArgumentException ex) {
        throw new CheckpointException(index.file(), "target_properties." + name + ": " + ex.getMessage());
      }
      List<String> subs = new ArrayList<>();
      if (space == PredictionSpace.STACK) {
        if (!(p.get("sub_target_names") instanceof List<?> sl) || sl.size() != 3) {
          throw new CheckpointException(index.file(), "target_properties." + name
              + ".sub_target_names must list 3 names (null for an unused channel)");
        }
        for (Object o : sl) subs.add(o == null ? null : String.valueOf(o));
      }
      all.put(name, new IntrinsicTarget(name, space, Boolean.TRUE.equals(p.get("up_to_scale")), subs));
    }
    List<IntrinsicTarget> out = new ArrayList<>();
    for (Object n : list) {
      IntrinsicTarget t = all.get(String.valueOf(n));
      if (t == null) {
        t = new IntrinsicTarget(String.valueOf(n), PredictionSpace.SRGB, false, List.of());
        all.put(t.name(), t);
      }
      for (String sub : t.subTargets()) {
        if (sub != null && !all.containsKey(sub)) all.put(sub, new IntrinsicTarget(sub, PredictionSpace.SRGB, false,
            List.of()));
      }
      out.add(t);
    }
    return List.copyOf(out);
  }

  /**
   * Loads a checkpoint folder ({@code model_index.json}, {@code unet/}, {@code vae/}, {@code text_encoder/},
   * {@code tokenizer/}, {@code scheduler/}).
   *
   * @throws CheckpointException naming the file when a component is missing or inconsistent (e.g. UNet channels
   *     that do not match the declared targets)
   */
  public static MarigoldDiffusersPipeline load(Path checkpoint, Precision precision, String device) {
    Engine.init();
    Device dev = Engine.device(device);
    ModelIndex index = ModelIndex.read(checkpoint);
    Task task = taskOf(index);
    for (String c : List.of("unet", "vae", "text_encoder", "tokenizer", "scheduler")) {
      if (!Files.isDirectory(checkpoint.resolve(c))) {
        throw new CheckpointException(checkpoint, "missing component folder '" + c + "/'");
      }
    }
    Map<String, IntrinsicTarget> properties = new java.util.LinkedHashMap<>();
    List<IntrinsicTarget> targets = task == Task.INTRINSICS ? targetsOf(index, properties) : List.of();
    Path unetConfig = checkpoint.resolve("unet").resolve("config.json");
    UNet2DConditionConfig uc = UNet2DConditionConfig.read(unetConfig);
    int t = task == Task.INTRINSICS ? targets.size() : 1;
    int latent = 4;
    if (uc.inChannels() != latent * (1 + t) || uc.outChannels() != latent * t) {
      throw new CheckpointException(unetConfig, "in_channels " + uc.inChannels() + " / out_channels "
          + uc.outChannels() + " do not fit " + (task == Task.INTRINSICS ? t + " target(s) " + targets.stream()
              .map(IntrinsicTarget::name).toList() + " of target_properties" : "a " + task.jsonName() + " model")
          + " (expected " + latent * (1 + t) + " / " + latent * t + ")");
    }
    try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
      UNet2DConditionModel unet = UNet2DConditionModel.load(checkpoint.resolve("unet"), precision.dtype());
      AutoencoderKL vae = AutoencoderKL.load(checkpoint.resolve("vae"), precision.dtype());
      if (vae.config().latentChannels() != latent) {
        throw new CheckpointException(checkpoint.resolve("vae/config.json"), "latent_channels "
            + vae.config().latentChannels() + " (the Marigold pipelines expect 4)");
      }
      Scheduler scheduler = Schedulers.load(checkpoint.resolve("scheduler"));
      Tensor empty;
      try (CLIPTextModel textEncoder = CLIPTextModel.load(checkpoint.resolve("text_encoder"))) {
        CLIPTokenizer tokenizer = CLIPTokenizer.load(checkpoint.resolve("tokenizer"));
        Tensor ids = tokenizer.encode("", CLIPTokenizer.Padding.DO_NOT_PAD, true).idsTensor();
        empty = textEncoder.forward(ids).to(dev, precision.dtype());
      }
      empty.retainReference();
      unet.to(dev, precision.dtype());
      vae.to(dev, precision.dtype());
      Integer steps = index.defaultDenoisingSteps().isPresent() ? index.defaultDenoisingSteps().getAsInt() : null;
      Integer res = index.defaultProcessingResolution().isPresent()
          ? index.defaultProcessingResolution().getAsInt() : null;
      LOG.info("loaded {} ({}, {}, {} on {})", checkpoint, index.className(), scheduler, precision.label(),
          dev.str().getString());
      return new MarigoldDiffusersPipeline(checkpoint, task, unet, vae, scheduler, precision, dev, empty,
          bool(index, "scale_invariant", true), bool(index, "shift_invariant", true),
          bool(index, "use_full_z_range", true), targets, Map.copyOf(properties), steps, res);
    } finally {
      Scopes.returnFreedMemory();
    }
  }

  private static boolean bool(ModelIndex index, String key, boolean dflt) {
    Object v = index.extra(key).orElse(null);
    if (v == null) return dflt;
    if (v instanceof Boolean b) return b;
    throw new CheckpointException(index.file(), key + " must be true or false, got " + v);
  }

  public Task task() {
    return task;
  }

  /** The predicted intrinsic targets in output order (empty for depth and normals). */
  public List<IntrinsicTarget> targets() {
    return targets;
  }

  /** A property entry of {@code target_properties} by name (targets and stack channels), or null. */
  public IntrinsicTarget property(String name) {
    return properties.get(name);
  }

  public boolean scaleInvariant() {
    return scaleInvariant;
  }

  public boolean shiftInvariant() {
    return shiftInvariant;
  }

  public Precision precision() {
    return precision;
  }

  public Path checkpoint() {
    return checkpoint;
  }

  public Scheduler scheduler() {
    return scheduler;
  }

  /** {@code __call__}'s defaults with the checkpoint's {@code default_denoising_steps} / resolution. */
  public MarigoldDiffusersOptions defaults() {
    if (defaultSteps == null) {
      throw new CheckpointException(checkpoint.resolve(ModelIndex.FILE), "declares no default_denoising_steps: "
          + "give --denoise-steps");
    }
    if (defaultResolution == null) {
      throw new CheckpointException(checkpoint.resolve(ModelIndex.FILE), "declares no "
          + "default_processing_resolution: give --processing-res");
    }
    return new MarigoldDiffusersOptions(defaultSteps, 1, defaultResolution, true, Interpolation.BILINEAR,
        Interpolation.BILINEAR, 1, task == Task.NORMALS ? Reduction.CLOSEST : Reduction.MEDIAN,
        DepthSettings.defaults(), false, false);
  }

  /** The latent shape of a call: (N*E, 4T, h, w) for N images of H x W. */
  public long[] latentShape(int n, int height, int width, MarigoldDiffusersOptions o) {
    int h = height;
    int w = width;
    if (o.processingResolution() > 0) {
      int[] hw = MarigoldImageProcessor.maxEdgeSize(h, w, o.processingResolution());
      h = hw[0];
      w = hw[1];
    }
    int t = task == Task.INTRINSICS ? targets.size() : 1;
    return new long[] {(long) n * o.ensembleSize(), (long) latentChannels * t, (h + vaeScaleFactor - 1) / vaeScaleFactor,
        (w + vaeScaleFactor - 1) / vaeScaleFactor};
  }

  /**
   * One call.
   *
   * @param images canonical images (see {@link MarigoldImageProcessor#canonical}), each (n_i, 3, H, W), one size
   * @param latents the initial prediction latents (N*E, 4T, h, w), or null to draw them from {@code noise}
   * @param noise every random draw of the call (the initial latents, LCM's per-step noise); may be null only with
   *     {@code latents} and a deterministic scheduler
   */
  public Output predict(List<Tensor> images, MarigoldDiffusersOptions o, Tensor latents, Randn noise) {
    try (NoGradGuard ng = new NoGradGuard(); PointerScope call = new PointerScope()) {
      return predictScoped(images, o, latents, noise, call);
    } finally {
      Scopes.returnFreedMemory();
    }
  }

  private Output predictScoped(List<Tensor> images, MarigoldDiffusersOptions o, Tensor latents, Randn noise,
      PointerScope call) {
    if (images.isEmpty()) throw new IllegalArgumentException("no input image");
    int n = 0;
    for (Tensor img : images) n += (int) img.size(0);
    int e = o.ensembleSize();
    int t = task == Task.INTRINSICS ? targets.size() : 1;
    if (latents != null) {
      long[] expected = latentShape(n, (int) images.get(0).size(2), (int) images.get(0).size(3), o);
      if (!java.util.Arrays.equals(Tensors.shape(latents), expected)) {
        throw new IllegalArgumentException("latents have shape " + java.util.Arrays.toString(Tensors.shape(latents))
            + ", expected " + java.util.Arrays.toString(expected));
      }
    }
    if (latents == null && noise == null) throw new IllegalArgumentException("no latents and no noise source");
    torch.ScalarType dtype = precision.dtype();
    List<Tensor> onDevice = new ArrayList<>();
    for (Tensor img : images) onDevice.add(img.to(torch.ScalarType.Float));
    MarigoldImageProcessor.Preprocessed pre = MarigoldImageProcessor.preprocess(onDevice, o.processingResolution(),
        o.resampleInput(), vaeScaleFactor);
    Tensor image = pre.image().to(device, dtype);
    int bs = o.batchSize();
    double scale = vae.scalingFactor();
    List<Tensor> encoded = new ArrayList<>();
    for (int i = 0; i < n; i += bs) {
      encoded.add(vae.encodeMean(image.narrow(0, i, Math.min(bs, n - i))));
    }
    Tensor imageLatent = F.repeatInterleave(F.cat(0, encoded).mul(F.s(scale)), e, 0);      // (N*E, 4, h, w)
    long[] predShape = {imageLatent.size(0), (long) latentChannels * t, imageLatent.size(2), imageLatent.size(3)};
    Tensor predLatent = latents != null ? latents.to(device, dtype) : noise.randn(predShape).to(device, dtype);
    Tensor text = emptyTextEmbedding.repeat(bs, 1, 1);
    List<Tensor> finals = new ArrayList<>();
    int total = n * e;
    for (int i = 0; i < total; i += bs) {
      int b = Math.min(bs, total - i);
      Tensor batchImage = imageLatent.narrow(0, i, b);
      Tensor batchPred = predLatent.narrow(0, i, b);
      Tensor batchText = text.narrow(0, 0, b);
      scheduler.setTimesteps(o.numInferenceSteps());
      for (long step : scheduler.timesteps()) {
        try (PointerScope stepScope = new PointerScope()) {
          Tensor ts = torch.tensor(new long[] {step}).squeeze().to(device, torch.ScalarType.Long);
          Tensor unetOut = unet.forward(F.cat(1, batchImage, batchPred), ts, batchText);
          // without a noise source (given latents), a scheduler that needs fresh noise says so
          StepOutput so = noise == null ? scheduler.step(unetOut, step, batchPred)
              : scheduler.step(unetOut, step, batchPred, noise);
          Tensor next = so.prevSample().to(dtype);
          call.attach(next);
          batchPred = next;
        }
      }
      finals.add(batchPred);
    }
    predLatent = F.cat(0, finals);                                                            // (N*E, 4T, h, w)
    Tensor forDecoding = predLatent.reshape((long) total * t, latentChannels, predLatent.size(2), predLatent.size(3));
    List<Tensor> decoded = new ArrayList<>();
    for (int i = 0; i < forDecoding.size(0); i += bs) {
      try (PointerScope decodeScope = new PointerScope()) {
        Tensor d = decodeHead(vae.decode(forDecoding.narrow(0, i, Math.min(bs, forDecoding.size(0) - i))
            .div(F.s(scale))).to(torch.ScalarType.Float));
        call.attach(d);
        decoded.add(d);
      }
    }
    Tensor prediction = MarigoldImageProcessor.unpad(F.cat(0, decoded), pre.padH(), pre.padW());
    Tensor uncertainty = null;
    if (e > 1) {
      List<Tensor> preds = new ArrayList<>();
      List<Tensor> uncs = new ArrayList<>();
      long c = prediction.size(1);
      long ph = prediction.size(2);
      long pw = prediction.size(3);
      for (int i = 0; i < n; i++) {
        MarigoldEnsembles.Result r;
        if (task == Task.INTRINSICS) {
          Tensor members = prediction.narrow(0, (long) i * e * t, (long) e * t).reshape(e, t, c, ph, pw);
          r = MarigoldEnsembles.intrinsics(members, o.outputUncertainty(), o.reduction());
        } else {
          Tensor members = prediction.narrow(0, (long) i * e, e);
          r = task == Task.DEPTH
              ? MarigoldEnsembles.depth(members, scaleInvariant, shiftInvariant, o.outputUncertainty(), o.reduction(),
                  o.depthEnsemble(), null)
              : MarigoldEnsembles.normals(members, o.outputUncertainty(), o.reduction());
        }
        preds.add(r.prediction());
        if (r.uncertainty() != null) uncs.add(r.uncertainty());
      }
      prediction = F.cat(0, preds);
      if (o.outputUncertainty()) uncertainty = F.cat(0, uncs);
    }
    if (o.matchInputResolution()) {
      prediction = MarigoldImageProcessor.resize(prediction, pre.height(), pre.width(), o.resampleOutput(), false);
      if (uncertainty != null) {
        uncertainty = MarigoldImageProcessor.resize(uncertainty, pre.height(), pre.width(), o.resampleOutput(), false);
      }
      if (task == Task.NORMALS) prediction = MarigoldEnsembles.normalizeNormals(prediction);
    }
    return new Output(Floats.of(prediction), Floats.of(uncertainty), o.outputLatent() ? Floats.of(predLatent) : null);
  }

  /** {@code decode_prediction}'s head on the VAE output (B, 3, H, W). */
  private Tensor decodeHead(Tensor x) {
    if (task == Task.DEPTH) {
      // the channel mean first, then the clip (the order of decode_prediction)
      return F.clamp(F.mean(x, new long[] {1}, true), -1.0, 1.0).add(F.s(1.0)).div(F.s(2.0));
    }
    Tensor clipped = F.clamp(x, -1.0, 1.0);
    return switch (task) {
      case DEPTH -> throw new IllegalStateException();
      case NORMALS -> {
        Tensor n = clipped;
        if (!useFullZRange) {
          Tensor z = n.narrow(1, 2, 1).mul(F.s(0.5)).add(F.s(0.5));
          n = F.cat(1, n.narrow(1, 0, 2), z);
        }
        yield MarigoldEnsembles.normalizeNormals(n);
      }
      case INTRINSICS -> clipped.add(F.s(1.0)).div(F.s(2.0));
    };
  }

  @Override
  public void close() {
    unet.close();
    vae.close();
    emptyTextEmbedding.releaseReference();
  }
}
