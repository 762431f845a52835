package marigold4j.train;

import java.nio.file.Path;
import java.util.function.BiConsumer;
import java.util.function.LongFunction;
import marigold4j.random.NoiseSource;
import marigold4j.random.PythonRandom;
import marigold4j.torch.Optim;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
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
 * <p>Beyond the original: a window whose total gradient norm is not finite is skipped (gradients cleared, weights and
 * moments untouched) instead of writing NaN into the weights. A NaN loss is dropped before backward, as in the
 * original.
 */
public final class E2EFTTrainer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(E2EFTTrainer.class);

  private final E2EFTModel model;
  private final TrainOptions options;
  private final IterExponential schedule;
  private final AdamW optimizer;
  private LongFunction<NoiseSource> noiseForMicroBatch;
  private long globalStep;
  private int microInWindow;
  private double windowLoss;
  private int windowDropped;

  /** What one optimizer step did. */
  public record StepResult(long step, double lr, double loss, double gradNormPreClip, double clipCoef,
      boolean skipped, int droppedMicroBatches) {}

  /** Receives every optimizer step of {@link #train}. */
  public interface Listener {
    void onStep(StepResult result);
  }

  public E2EFTTrainer(E2EFTModel model, TrainOptions options) {
    this.model = model;
    this.options = options;
    this.schedule = options.schedule();
    this.optimizer = Optim.adamW(model.trainableParameters(), options.learningRate(), options.adamBeta1(),
        options.adamBeta2(), options.adamEpsilon(), options.adamWeightDecay());
    // Noise of micro-batch k comes from generators seeded with (seed, k), so a resumed run draws what an
    // uninterrupted one would have drawn.
    this.noiseForMicroBatch = k -> {
      torch.manual_seed(options.seed() * 1_000_003L + k);
      return NoiseSource.torch(new PythonRandom(options.seed() * 1_000_003L + k));
    };
  }

  /** Replaces where the noise of micro-batch k comes from (tests inject the original's recorded draws). */
  public void setNoise(LongFunction<NoiseSource> noiseForMicroBatch) {
    this.noiseForMicroBatch = noiseForMicroBatch;
  }

  /**
   * Forward and backward of one micro-batch: the loss divided by the accumulation count is back-propagated into the
   * UNet's gradients (accumulating), with activation checkpointing of the UNet when the options ask for it. Call
   * {@link #optimizerStep} after every {@code gradientAccumulationSteps}.
   *
   * @param microBatchIndex the micro-batch's index in the run (selects its noise)
   * @param tap see {@link E2EFTModel#forward}; may be null
   * @return the undivided loss (0 when dropped)
   */
  public E2EFTModel.Loss microStep(TrainingBatch batch, long microBatchIndex, BiConsumer<String, Tensor> tap) {
    E2EFTModel.Loss loss = model.forward(batch, noiseForMicroBatch.apply(microBatchIndex), tap,
        options.gradientCheckpointing());
    model.backward(loss, options.gradientAccumulationSteps());
    if (loss.dropped()) windowDropped++;
    windowLoss += loss.value() / options.gradientAccumulationSteps();
    microInWindow++;
    return loss;
  }

  /**
   * Ends an accumulation window: clip, AdamW step at this step's learning rate, clear gradients.
   *
   * @return the step's learning rate, mean loss, pre-clip gradient norm and clip coefficient
   */
  public StepResult optimizerStep() {
    double lr = schedule.learningRate(options.learningRate(), globalStep);
    Optim.setLearningRate(optimizer, lr);
    double norm = Optim.clipGradNorm(model.trainableParameters(), options.maxGradNorm());
    double coef = Math.min(1.0, options.maxGradNorm() / (norm + 1e-6));
    boolean skipped = !Double.isFinite(norm);
    if (skipped) {
      LOG.warn("step {}: gradient norm is {}; update skipped, weights unchanged", globalStep, norm);
    } else {
      optimizer.step();
    }
    optimizer.zero_grad();
    StepResult r = new StepResult(globalStep, lr, windowLoss, norm, coef, skipped, windowDropped);
    globalStep++;
    microInWindow = 0;
    windowLoss = 0;
    windowDropped = 0;
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
    MetricsLog log = new MetricsLog(outputDir.resolve(MetricsLog.DEFAULT_FILE));
    log.truncateAfter(globalStep);
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
      log.append(r);
      if (listener != null) listener.onStep(r);
      if (globalStep % options.checkpointingSteps() == 0) {
        TrainingCheckpoints.save(outputDir, this, data.position(), data.checkpointState(),
            options.checkpointsTotalLimit());
      }
    }
  }

  /**
   * Restores a checkpoint written by {@link #train}: UNet weights (copied into the live parameters), AdamW state,
   * step count; the data source is moved to the checkpoint's position.
   */
  public void restore(TrainingCheckpoints.State state, Path checkpointDir, BatchSource data) {
    TrainingCheckpoints.loadInto(checkpointDir, this);
    globalStep = state.globalStep();
    if (data != null) data.restore(state.dataPosition(), state.dataState());
    LOG.info("resumed from {} at step {} (data position {})", checkpointDir, globalStep, state.dataPosition());
  }

  /** Optimizer steps done so far (the LR scheduler's step count). */
  public long globalStep() {
    return globalStep;
  }

  public E2EFTModel model() {
    return model;
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
  }
}
