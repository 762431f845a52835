package marigold4j.train;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import java.util.function.LongFunction;
import marigold4j.random.NoiseSource;
import marigold4j.torch.Optim;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * E2E-FT's optimisation as {@code training/train.py} runs it under accelerate: each micro-batch's loss is divided by
 * the accumulation count and back-propagated; after the last micro-batch of a window the gradients are clipped to
 * {@code maxGradNorm}, AdamW steps with the learning rate {@code lr * IterExponential(step)}, and the gradients are
 * cleared. Gradients are never cleared inside a window.
 *
 * <p>Two levels of use: {@link #microStep} and {@link #optimizerStep} for exact step-by-step control (the golden
 * tests), and {@link #train} for the whole run with checkpoints, metrics and resume.
 *
 * <p>With several parameter groups ({@link E2EFTTrainable#parameterGroups()}; GeoWizard's class embedding) each
 * group's learning rate is its multiplier times the run's, all following the same schedule, as torch's
 * {@code LambdaLR} scales every group's initial rate; gradients are clipped over all groups together.
 *
 * <p>Noise is drawn from the run's {@link TrainingRandom}: one stream per generator, seeded once, continued from
 * micro-batch to micro-batch with the data loaders' draws replayed in between, as the original draws it after
 * {@code set_seed}; its state is part of every checkpoint.
 *
 * <p>Beyond the original: a window whose total gradient norm is not finite is skipped (gradients cleared, weights and
 * moments untouched) instead of writing NaN into the weights. A NaN loss is dropped before backward, as in the
 * original.
 */
public final class E2EFTTrainer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(E2EFTTrainer.class);

  private final E2EFTTrainable model;
  private final TrainOptions options;
  private final IterExponential schedule;
  private final List<E2EFTTrainable.ParameterGroup> groups;
  private final AdamW optimizer;
  private final TrainingRandom random;
  private final NoiseSource noise;
  private LongFunction<NoiseSource> injectedNoise;
  private DataParallel dataParallel;
  private long globalStep;
  private int microInWindow;
  private double windowLoss;
  private int windowDropped;
  private final Map<String, double[]> windowTerms = new TreeMap<>();   // name -> {sum, count}

  /**
   * What one optimizer step did.
   *
   * @param lr the learning rate of the first parameter group (the original logs {@code get_last_lr()[0]})
   * @param lossTerms per named loss term ({@link E2EFTModel.Loss#terms()}), its mean over the window's micro-batches
   *     that had it, as the original logs {@code ssi_loss} and {@code normals_angular_loss}; empty for single-task runs
   */
  public record StepResult(long step, double lr, double loss, double gradNormPreClip, double clipCoef,
      boolean skipped, int droppedMicroBatches, Map<String, Double> lossTerms) {
    public StepResult {
      lossTerms = lossTerms == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(lossTerms));
    }
  }

  /** Receives every optimizer step of {@link #train}. */
  public interface Listener {
    void onStep(StepResult result);
  }

  public E2EFTTrainer(E2EFTTrainable model, TrainOptions options) {
    this.model = model;
    this.options = options;
    this.schedule = options.schedule();
    this.groups = model.parameterGroups();
    E2EFTTrainable.ParameterGroup first = groups.get(0);
    this.optimizer = Optim.adamW(first.params(), options.learningRate() * first.lrMultiplier(), options.adamBeta1(),
        options.adamBeta2(), options.adamEpsilon(), options.adamWeightDecay());
    for (E2EFTTrainable.ParameterGroup g : groups.subList(1, groups.size())) {
      // a group without options takes a copy of the optimizer's defaults (betas, eps, weight decay); lr is set per step
      Optim.addParamGroup(optimizer, g.params());
    }
    this.random = new TrainingRandom(options.seed());
    this.noise = random.noise(model.pyramidUniforms());
  }

  /**
   * Replaces where the noise of micro-batch k comes from (tests inject the original's recorded draws); null goes
   * back to the run's {@link TrainingRandom}.
   */
  public void setNoise(LongFunction<NoiseSource> noiseForMicroBatch) {
    this.injectedNoise = noiseForMicroBatch;
  }

  /**
   * Makes this trainer one rank of a data-parallel job: the parameters are replaced by rank 0's at once, gradients
   * are averaged over the ranks at every optimizer step (before clipping), the logged loss is the ranks' mean, and
   * {@link #train} lets rank 0 alone write the log and checkpoints. Call before {@link #restore}.
   */
  public void distributed(DataParallel dp) {
    if (microInWindow != 0) throw new IllegalStateException("an accumulation window is open");
    this.dataParallel = dp;
    if (dp != null) dp.broadcastParameters(model);
  }

  /** The data-parallel job this trainer is a rank of, or null. */
  public DataParallel dataParallel() {
    return dataParallel;
  }

  /**
   * Forward and backward of one micro-batch: the loss divided by the accumulation count is back-propagated into the
   * UNet's gradients (accumulating), with activation checkpointing of the UNet when the options ask for it. Call
   * {@link #optimizerStep} after every {@code gradientAccumulationSteps}.
   *
   * <p>The batch's {@link TrainingBatch#loaderDraws() data-loader draws} are replayed on the run's generators
   * first, then the noise is drawn.
   *
   * @param microBatchIndex the micro-batch's index in the run (passed to injected noise, see {@link #setNoise})
   * @param tap see {@link E2EFTTrainable#forward}; may be null
   * @return the undivided loss (0 when dropped)
   */
  public E2EFTModel.Loss microStep(TrainingBatch batch, long microBatchIndex, BiConsumer<String, Tensor> tap) {
    random.replay(batch.loaderDraws());
    NoiseSource n = injectedNoise != null ? injectedNoise.apply(microBatchIndex) : noise;
    E2EFTModel.Loss loss = model.forward(batch, n, tap, options.gradientCheckpointing());
    model.backward(loss, options.gradientAccumulationSteps());
    if (loss.dropped()) windowDropped++;
    windowLoss += loss.value() / options.gradientAccumulationSteps();
    loss.terms().forEach((name, v) -> {
      double[] acc = windowTerms.computeIfAbsent(name, k -> new double[2]);
      acc[0] += v;
      acc[1]++;
    });
    microInWindow++;
    return loss;
  }

  /**
   * Ends an accumulation window: clip, AdamW step at this step's learning rate, clear gradients.
   *
   * @return the step's learning rate, mean loss, pre-clip gradient norm and clip coefficient
   */
  public StepResult optimizerStep() {
    double lr = schedule.learningRate(options.learningRate() * groups.get(0).lrMultiplier(), globalStep);
    for (int g = 0; g < groups.size(); g++) {
      optimizer.param_groups().get(g).options().set_lr(
          schedule.learningRate(options.learningRate() * groups.get(g).lrMultiplier(), globalStep));
    }
    // DDP semantics: the ranks' gradients are averaged once per window, then clipped (same norm on every rank)
    if (dataParallel != null) dataParallel.averageGradients(model.trainableParameters());
    double norm = Optim.clipGradNorm(model.trainableParameters(), options.maxGradNorm());
    double coef = Math.min(1.0, options.maxGradNorm() / (norm + 1e-6));
    boolean skipped = !Double.isFinite(norm);
    if (skipped) {
      LOG.warn("step {}: gradient norm is {}; update skipped, weights unchanged", globalStep, norm);
    } else {
      optimizer.step();
    }
    optimizer.zero_grad();
    Map<String, Double> terms = new LinkedHashMap<>();
    windowTerms.forEach((name, acc) -> terms.put(name, acc[0] / acc[1]));
    double loss = windowLoss;
    int dropped = windowDropped;
    if (dataParallel != null) {
      // the original logs accelerator.gather(loss).mean(): the mean over the ranks
      double[] m = dataParallel.mean(windowLoss, windowDropped);
      loss = m[0];
      dropped = (int) Math.round(m[1] * dataParallel.worldSize());
    }
    StepResult r = new StepResult(globalStep, lr, loss, norm, coef, skipped, dropped, terms);
    globalStep++;
    if (dataParallel != null && globalStep % dataParallel.checkEvery() == 0) {
      dataParallel.checkIdentical(model.trainableParameters(), globalStep);
    }
    microInWindow = 0;
    windowLoss = 0;
    windowDropped = 0;
    windowTerms.clear();
    return r;
  }

  /**
   * Runs optimizer steps until {@code maxTrainSteps}, saving a checkpoint every {@code checkpointingSteps} into
   * {@code outputDir} and appending each step's metrics to {@code outputDir/logs/metrics.jsonl}. Every micro-batch and
   * every optimizer step runs in its own {@code PointerScope}.
   *
   * @param listener notified after every optimizer step; may be null
   */
  public void train(BatchSource data, Path outputDir, Listener listener) {
    if (microInWindow != 0) throw new IllegalStateException("an accumulation window is open");
    boolean main = dataParallel == null || dataParallel.isMain();
    MetricsLog log = main ? new MetricsLog(outputDir.resolve(MetricsLog.DEFAULT_FILE)) : null;
    if (log != null) log.truncateAfter(globalStep);
    while (globalStep < options.maxTrainSteps()) {
      for (int k = 0; k < options.gradientAccumulationSteps(); k++) {
        try (PointerScope scope = new PointerScope()) {
          long index = data.position();
          microStep(data.next(), index, null);
        }
      }
      StepResult r;
      try (PointerScope scope = new PointerScope()) {
        r = optimizerStep();
      }
      if (log != null) log.append(r);
      if (listener != null) listener.onStep(r);
      if (globalStep % options.checkpointingSteps() == 0) {
        TrainingCheckpoints.save(outputDir, this, data.position(), data.checkpointState(),
            options.checkpointsTotalLimit());
      }
    }
    if (dataParallel != null) dataParallel.checkIdentical(model.trainableParameters(), globalStep);
  }

  /**
   * Restores a checkpoint written by {@link #train}: UNet weights (copied into the live parameters), AdamW state,
   * the random generators' states, step count; the data source is moved to the checkpoint's position.
   */
  public void restore(TrainingCheckpoints.State state, Path checkpointDir, BatchSource data) {
    TrainingCheckpoints.loadInto(checkpointDir, this);
    globalStep = state.globalStep();
    if (dataParallel != null) {
      // this rank's generators and data shard (rank 0's are also the single-process files)
      TrainingCheckpoints.RankState mine = TrainingCheckpoints.readRankState(checkpointDir, dataParallel.rank(),
          dataParallel.worldSize());
      random.restore(mine.random());
      if (data != null) data.restore(mine.dataPosition(), mine.dataState());
    } else {
      TrainingCheckpoints.requireSingleProcess(checkpointDir);
      if (data != null) data.restore(state.dataPosition(), state.dataState());
    }
    LOG.info("resumed from {} at step {} (data position {})", checkpointDir, globalStep, state.dataPosition());
  }

  /** Optimizer steps done so far (the LR scheduler's step count). */
  public long globalStep() {
    return globalStep;
  }

  public E2EFTTrainable model() {
    return model;
  }

  /** The run's random generators (the noise stream; saved with each checkpoint). */
  public TrainingRandom random() {
    return random;
  }

  public TrainOptions options() {
    return options;
  }

  /** The libtorch AdamW instance (its state is saved with each checkpoint). */
  public AdamW optimizer() {
    return optimizer;
  }

  @Override
  public void close() {
    optimizer.close();
    random.close();
  }
}
