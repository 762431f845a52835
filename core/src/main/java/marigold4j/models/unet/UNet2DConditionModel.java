package marigold4j.models.unet;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import marigold4j.weights.WeightFiles;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.nn.Conv2d;
import marigold4j.nn.GroupNorm;
import marigold4j.nn.Module;
import marigold4j.nn.ModuleList;
import marigold4j.nn.ActivationCheckpoint;
import marigold4j.nn.SegmentRunner;
import marigold4j.nn.StateDicts;
import marigold4j.torch.Engine;
import marigold4j.torch.F;
import marigold4j.torch.Scopes;
import marigold4j.torch.Tensors;
import marigold4j.weights.SafeTensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * diffusers' {@code UNet2DConditionModel} (0.30.2) in the Stable Diffusion 2 configuration that Marigold, E2E-FT and
 * Stable Diffusion 2 checkpoints use, and GeoWizard's variant of it. Child modules carry diffusers' attribute names,
 * so a checkpoint's state dict loads without any key mapping.
 *
 * <p>GeoWizard's variant adds two things: a {@code projection} class embedding (see
 * {@link UNet2DConditionConfig#hasProjectionClassEmbedding()}), fed through the {@code classLabels} argument of
 * {@link #forward(Tensor, Tensor, Tensor, Tensor)}, and a joint self-attention between the two halves of
 * the batch, switched by {@link #setJointSelfAttention(boolean)} (off after loading, as in the original class before
 * {@code enable_xformers_memory_efficient_attention()}).
 *
 * <p>Inference builds no autograd graph under a caller's {@code NoGradGuard} and opens no {@code PointerScope}: a
 * caller's scope owns every temporary, including the returned tensor.
 */
public final class UNet2DConditionModel extends Module {
  private static final Logger LOG = LoggerFactory.getLogger(UNet2DConditionModel.class);
  /** The weights file of a diffusers UNet folder. */
  public static final String WEIGHTS_FILE = "diffusion_pytorch_model.safetensors";

  private final UNet2DConditionConfig config;
  private final Conv2d convIn;
  private final Timesteps timeProj;
  private final TimestepEmbedding timeEmbedding;
  private final TimestepEmbedding classEmbedding;
  private final ModuleList<Module> downBlocksList;
  private final ModuleList<Module> upBlocksList;
  private final List<UNetDownBlock> downBlocks = new ArrayList<>();
  private final List<UNetUpBlock> upBlocks = new ArrayList<>();
  private final UNetMidBlock2DCrossAttn midBlock;
  private final GroupNorm convNormOut;
  private final Conv2d convOut;
  private volatile boolean jointSelfAttention;

  private UNet2DConditionModel(UNet2DConditionConfig c) {
    this.config = c;
    int n = c.numBlocks();
    int c0 = c.blockOutChannels(0);
    long temb = c.timeEmbedDim();
    int groups = c.normNumGroups();
    double eps = c.normEps();
    boolean linear = c.useLinearProjection();
    boolean upcast = c.upcastAttention();

    // Registration order is diffusers' (down_blocks and up_blocks are created before the mid block), which is the
    // state dict's key order.
    convIn = child("conv_in", new Conv2d(c.inChannels(), c0, 3, 1, 1));
    timeProj = child("time_proj", new Timesteps(c0, c.flipSinToCos(), c.freqShift()));
    timeEmbedding = child("time_embedding", new TimestepEmbedding(c0, temb));
    // GeoWizard's "projection" class embedding is a TimestepEmbedding on the raw labels (no sinusoids).
    classEmbedding = c.hasProjectionClassEmbedding()
        ? child("class_embedding", new TimestepEmbedding(c.projectionClassEmbeddingsInputDim(), temb))
        : null;
    downBlocksList = child("down_blocks", new ModuleList<>());
    upBlocksList = child("up_blocks", new ModuleList<>());

    int out = c0;
    for (int i = 0; i < n; i++) {
      int in = out;
      out = c.blockOutChannels(i);
      boolean last = i == n - 1;
      if (c.downBlockTypes().get(i).equals("CrossAttnDownBlock2D")) {
        addDown(new CrossAttnDownBlock2D(in, out, temb, c.layersPerBlock(i), c.transformerLayersPerBlock(i), !last,
            groups, eps, c.attentionHeads(i), c.crossAttentionDim(i), linear, upcast, c.downsamplePadding()));
      } else {
        addDown(new DownBlock2D(in, out, temb, c.layersPerBlock(i), !last, groups, eps, c.downsamplePadding()));
      }
    }

    int deepest = n - 1;
    midBlock = child("mid_block", new UNetMidBlock2DCrossAttn(c.blockOutChannels(deepest), temb,
        c.transformerLayersPerBlock(deepest), groups, eps, c.attentionHeads(deepest), c.crossAttentionDim(deepest),
        linear, upcast));

    // Up block i mirrors down block n-1-i and has one resnet more (it also consumes the downsampler's skip).
    out = c.blockOutChannels(deepest);
    for (int i = 0; i < n; i++) {
      int mirror = n - 1 - i;
      int prevOut = out;
      out = c.blockOutChannels(mirror);
      int in = c.blockOutChannels(Math.max(mirror - 1, 0));
      boolean last = i == n - 1;
      int layers = c.layersPerBlock(mirror) + 1;
      if (c.upBlockTypes().get(i).equals("CrossAttnUpBlock2D")) {
        addUp(new CrossAttnUpBlock2D(in, prevOut, out, temb, layers, c.transformerLayersPerBlock(mirror), !last,
            groups, eps, c.attentionHeads(mirror), c.crossAttentionDim(mirror), linear, upcast));
      } else {
        addUp(new UpBlock2D(in, prevOut, out, temb, layers, !last, groups, eps));
      }
    }

    convNormOut = child("conv_norm_out", new GroupNorm(groups, c0, eps));
    convOut = child("conv_out", new Conv2d(c0, c.outChannels(), 3, 1, 1));
  }

  private <B extends Module & UNetDownBlock> void addDown(B block) {
    downBlocksList.add(block);
    downBlocks.add(block);
  }

  private <B extends Module & UNetUpBlock> void addUp(B block) {
    upBlocksList.add(block);
    upBlocks.add(block);
  }

  /**
   * Builds the model for {@code config} without allocating weights: {@link #namedParameters()} then lists the
   * expected state-dict keys and shapes.
   *
   * @throws CheckpointException if the config uses an option this implementation does not support
   */
  public static UNet2DConditionModel fromConfig(UNet2DConditionConfig config) {
    config.validate("UNet2DConditionConfig");
    return new UNet2DConditionModel(config);
  }

  /**
   * Loads a diffusers UNet folder ({@code config.json} + weights) in float32, strictly: every key must match.
   *
   * @throws CheckpointException naming the file on any config, format or key mismatch
   */
  public static UNet2DConditionModel load(Path componentDir) {
    return load(componentDir, torch.ScalarType.Float);
  }

  /** As {@link #load(Path)}, converting floating-point weights to {@code dtype}. */
  public static UNet2DConditionModel load(Path componentDir, torch.ScalarType dtype) {
    Engine.init();
    UNet2DConditionConfig config = UNet2DConditionConfig.read(componentDir.resolve("config.json"));
    UNet2DConditionModel model = new UNet2DConditionModel(config);
    WeightFiles.loadInto(model, componentDir, null, dtype);
    LOG.debug("loaded UNet from {} ({} parameters)", componentDir, model.numParameters());
    return model;
  }

  public UNet2DConditionConfig config() {
    return config;
  }

  /**
   * Switches the self-attention ({@code attn1}) of every transformer block between per-sample attention (diffusers'
   * default processor, the state after loading) and GeoWizard's joint attention, in which the batch is two equal
   * halves (depth, normals) and each sample also attends to its partner in the other half (GeoWizard's
   * {@code XFormersJointAttnProcessor}, which its {@code run_infer.py} enables). Not to be switched while a forward
   * pass is running.
   */
  public void setJointSelfAttention(boolean joint) {
    for (UNetDownBlock block : downBlocks) block.setJointSelfAttention(joint);
    midBlock.setJointSelfAttention(joint);
    for (UNetUpBlock block : upBlocks) block.setJointSelfAttention(joint);
    jointSelfAttention = joint;
  }

  /** Whether {@link #setJointSelfAttention(boolean) joint self-attention} is on. */
  public boolean jointSelfAttention() {
    return jointSelfAttention;
  }

  /**
   * Predicts the noise / v-prediction for {@code sample}.
   *
   * <p>Intermediate activations are reported to a {@link #hook} on this model under the reference's forward-hook
   * names: {@code conv_in}, {@code time_proj}, {@code time_embedding}, {@code class_embedding} (when the model has
   * one), {@code down_blocks.i.resnets.j}, {@code down_blocks.i.attentions.j.0}, {@code down_blocks.i.0} (block
   * output) and {@code down_blocks.i.1..k} (its skip connections), {@code mid_block}, {@code up_blocks.i},
   * {@code conv_norm_out}, {@code conv_out}, ...
   *
   * @param sample (B, in_channels, H, W) latents; H and W need not be divisible by the downsampling factor
   * @param timestep int64 timestep: 0-d (used for the whole batch) or 1-d with B entries (or 1, expanded)
   * @param encoderHiddenStates (B, S, cross_attention_dim)
   * @return (B, out_channels, H, W)
   */
  public Tensor forward(Tensor sample, Tensor timestep, Tensor encoderHiddenStates) {
    return forward(sample, timestep, encoderHiddenStates, null, SegmentRunner.DIRECT);
  }

  /**
   * As {@link #forward(Tensor, Tensor, Tensor)} with class labels for a model with a class embedding (GeoWizard).
   *
   * @param classLabels (B, projection_class_embeddings_input_dim) labels; required when the model has a class
   *     embedding, ignored (as diffusers ignores them) when it has none
   * @throws IllegalArgumentException if the model has a class embedding and {@code classLabels} is null
   */
  public Tensor forward(Tensor sample, Tensor timestep, Tensor encoderHiddenStates, Tensor classLabels) {
    return forward(sample, timestep, encoderHiddenStates, classLabels, SegmentRunner.DIRECT);
  }

  /**
   * The full forward pass run as segments through {@code segments}: the stem (time and class embedding,
   * {@code conv_in}), each down block, the mid block, each up block and the output head ({@code conv_norm_out},
   * {@code conv_out}). The segments' boundaries are the time embedding, the skip connections and each block's output.
   * With {@link SegmentRunner#DIRECT} this is exactly {@link #forward(Tensor, Tensor, Tensor, Tensor)}; with an
   * {@link ActivationCheckpoint} it is the training forward pass with activation checkpointing (the per-block
   * counterpart of diffusers' {@code enable_gradient_checkpointing()}). A {@link #hook}'s values then live only until
   * their segment ends (each segment runs in a {@code PointerScope} of its own): use or retain them in the hook. The
   * recomputation of the backward pass reports nothing.
   *
   * @param classLabels (B, projection_class_embeddings_input_dim), or null for a model without class embedding
   * @param segments how the segments run; {@link SegmentRunner#DIRECT} for a plain forward pass
   * @throws IllegalArgumentException if the model has a class embedding and {@code classLabels} is null
   */
  public Tensor forward(Tensor sample, Tensor timestep, Tensor encoderHiddenStates, Tensor classLabels,
      SegmentRunner segments) {
    if (classEmbedding != null && classLabels == null) {
      throw new IllegalArgumentException("this UNet has a class embedding (class_embed_type \""
          + config.classEmbedType() + "\"): class labels are required");
    }

    List<Tensor> stem = run(segments, new StemInputs(sample, timestep, classEmbedding == null ? null : classLabels)
        .tensors(), StemInputs::of, in -> {
          Tensor x = in.sample();
          Tensor emb = embedTime(in.timestep(), x.size(0), Tensors.dtype(x));
          if (classEmbedding != null) {
            // The projection takes the labels as they are (no sinusoids); cast so a reduced-precision model accepts
            // them.
            Tensor classEmb = classEmbedding.forward(in.classLabels().to(Tensors.dtype(emb)));   // (B, timeEmbedDim)
            report("class_embedding", classEmb);
            emb = emb.add(classEmb);
          }
          Tensor h0 = convIn.forward(x);                                          // (B, c0, H, W)
          report("conv_in", h0);
          return List.of(emb, h0);                                                // [temb, h]
        });
    Tensor emb = stem.get(0);
    Tensor h = stem.get(1);

    // With n - 1 downsamplers, sizes not divisible by 2^(n-1) shrink to ceil(x / 2) per level; the up path then
    // upsamples to each skip connection's size instead of x2 (diffusers' forward_upsample_size).
    long factor = 1L << (upBlocks.size() - 1);
    boolean upsampleToSkip = sample.size(2) % factor != 0 || sample.size(3) % factor != 0;

    // A plain pass frees the up path's inputs once consumed (a checkpointed pass needs them again for recomputation,
    // and reported values must stay valid).
    boolean freeConsumed = segments == SegmentRunner.DIRECT && !reporting();
    List<Tensor> skips = new ArrayList<>();
    skips.add(h);
    for (int i = 0; i < downBlocks.size(); i++) {
      UNetDownBlock block = downBlocks.get(i);
      int index = i;
      List<Tensor> out = run(segments, new BlockInputs(h, emb, encoderHiddenStates).tensors(), BlockInputs::of,
          in -> {
            List<Tensor> blockSkips = new ArrayList<>();
            Tensor y = block.forward(in.x(), in.temb(), in.context(), blockSkips);
            if (reporting()) {                                  // the reference's (output, skips) tuple, flattened
              String name = "down_blocks." + index + ".";
              report(name + "0", y);
              for (int k = 0; k < blockSkips.size(); k++) report(name + (k + 1), blockSkips.get(k));
            }
            List<Tensor> result = new ArrayList<>(blockSkips.size() + 1);          // [output, skips...]
            result.add(y);
            result.addAll(blockSkips);
            return result;
          });
      h = out.get(0);
      skips.addAll(out.subList(1, out.size()));
    }

    h = run(segments, new BlockInputs(h, emb, encoderHiddenStates).tensors(), BlockInputs::of, in -> {
      Tensor y = midBlock.forward(in.x(), in.temb(), in.context());
      report("mid_block", y);
      return List.of(y);
    }).get(0);

    for (int i = 0; i < upBlocks.size(); i++) {
      UNetUpBlock block = upBlocks.get(i);
      int from = skips.size() - block.numResnets();
      List<Tensor> blockSkips = new ArrayList<>(skips.subList(from, skips.size()));
      skips.subList(from, skips.size()).clear();
      boolean last = i == upBlocks.size() - 1;
      long[] upsampleSize = !last && upsampleToSkip ? new long[] {skips.get(skips.size() - 1).size(2),
          skips.get(skips.size() - 1).size(3)} : null;
      int index = i;
      Tensor y = run(segments, new BlockInputs(h, emb, encoderHiddenStates, blockSkips).tensors(), BlockInputs::of,
          in -> {
            Tensor out = block.forward(in.x(), in.temb(), in.context(), in.skips(), upsampleSize);
            report("up_blocks", index, out);
            return List.of(out);
          }).get(0);
      if (freeConsumed) {
        Scopes.release(h);                                   // the previous block's output and the consumed skips
        blockSkips.forEach(Scopes::release);
      }
      h = y;
    }

    return run(segments, List.of(h), in -> in.get(0), x -> {                    // the head: one input
      Tensor y = convNormOut.forward(x);
      report("conv_norm_out", y);
      y = convOut.forward(F.silu(y));                                             // (B, out_channels, H, W)
      report("conv_out", y);
      return List.of(y);
    }).get(0);
  }

  /** The stem segment's inputs; {@code classLabels} is null for a model without class embedding. */
  private record StemInputs(Tensor sample, Tensor timestep, Tensor classLabels) {
    List<Tensor> tensors() {
      return java.util.Arrays.asList(sample, timestep, classLabels);              // keeps a null entry
    }

    static StemInputs of(List<Tensor> t) {
      return new StemInputs(t.get(0), t.get(1), t.get(2));
    }
  }

  /** A block segment's inputs: hidden states, time embedding, context and the skip connections an up block takes. */
  private record BlockInputs(Tensor x, Tensor temb, Tensor context, List<Tensor> skips) {
    BlockInputs(Tensor x, Tensor temb, Tensor context) {
      this(x, temb, context, List.of());
    }

    List<Tensor> tensors() {                                                      // [x, temb, context, skips...]
      List<Tensor> t = new ArrayList<>(3 + skips.size());
      t.add(x);
      t.add(temb);
      t.add(context);
      t.addAll(skips);
      return t;
    }

    static BlockInputs of(List<Tensor> t) {
      return new BlockInputs(t.get(0), t.get(1), t.get(2), t.subList(3, t.size()));
    }
  }

  /**
   * Runs one segment through {@code segments}: {@code inputs} is the tensor list the runner keeps (for
   * recomputation), {@code named} gives the body its named view. A recomputation for the backward pass reports
   * nothing (its values were reported by the first run).
   */
  private <I> List<Tensor> run(SegmentRunner segments, List<Tensor> inputs, Function<List<Tensor>, I> named,
      Function<I, List<Tensor>> body) {
    return segments.run(inputs, (in, report) -> report
        ? body.apply(named.apply(in))
        : unreported(() -> body.apply(named.apply(in))));
  }

  /** The (B, timeEmbedDim) embedding of the timesteps, before any class embedding is added. */
  private Tensor embedTime(Tensor timestep, long batch, torch.ScalarType dtype) {
    Tensor t = timestep.dim() == 0 ? timestep.reshape(1) : timestep;                // (1) or (B)
    t = t.expand(batch);                                                            // (B)
    Tensor proj = timeProj.forward(t);                                              // (B, c0) float32
    report("time_proj", proj);
    // The sinusoids are computed in float32 and only then cast to the model dtype, as in diffusers.
    Tensor emb = timeEmbedding.forward(proj.to(dtype));                             // (B, timeEmbedDim)
    report("time_embedding", emb);
    return emb;
  }
}
