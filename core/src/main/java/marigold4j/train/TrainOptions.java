package marigold4j.train;

/**
 * The settings of an E2E-FT run, with the defaults of the original {@code training/train.py} (and of its
 * {@code train_marigold_e2e_ft_*.sh} scripts where train.py has none).
 *
 * @param maxTrainSteps optimizer steps to run in total (counting those before a resume)
 * @param trainBatchSize samples per micro-batch (the data source's batch size)
 * @param gradientAccumulationSteps micro-batches per optimizer step; each loss is divided by it
 * @param learningRate base learning rate (AdamW)
 * @param adamBeta1 AdamW beta1
 * @param adamBeta2 AdamW beta2
 * @param adamWeightDecay AdamW decoupled weight decay
 * @param adamEpsilon AdamW epsilon
 * @param maxGradNorm gradients are clipped to this total L2 norm
 * @param lrExpWarmupSteps linear warm-up steps of {@link IterExponential}
 * @param lrTotalIterLength step at which the learning rate reaches 1 % of its base value
 * @param checkpointingSteps a checkpoint every this many optimizer steps
 * @param checkpointsTotalLimit keep at most this many checkpoints (0: no limit)
 * @param seed seeds the noise draws and the data order
 * @param gradientCheckpointing recompute the UNet's activations in the backward pass instead of keeping them
 *     ({@code --gradient-checkpointing}): same results, less memory, one more UNet forward pass per micro-batch
 */
public record TrainOptions(
    long maxTrainSteps,
    int trainBatchSize,
    int gradientAccumulationSteps,
    double learningRate,
    double adamBeta1,
    double adamBeta2,
    double adamWeightDecay,
    double adamEpsilon,
    double maxGradNorm,
    long lrExpWarmupSteps,
    long lrTotalIterLength,
    long checkpointingSteps,
    int checkpointsTotalLimit,
    long seed,
    boolean gradientCheckpointing) {

  /** The final learning-rate ratio of train.py's IterExponential. */
  public static final double LR_FINAL_RATIO = 0.01;

  public TrainOptions {
    if (maxTrainSteps < 0) throw new IllegalArgumentException("--max-train-steps must be >= 0, got " + maxTrainSteps);
    if (trainBatchSize < 1) throw new IllegalArgumentException("--train-batch-size must be >= 1, got " + trainBatchSize);
    if (gradientAccumulationSteps < 1) {
      throw new IllegalArgumentException("--gradient-accumulation-steps must be >= 1, got " + gradientAccumulationSteps);
    }
    if (!(learningRate >= 0)) throw new IllegalArgumentException("--learning-rate must be >= 0, got " + learningRate);
    if (!(maxGradNorm > 0)) throw new IllegalArgumentException("max grad norm must be > 0, got " + maxGradNorm);
    if (lrExpWarmupSteps < 0 || lrTotalIterLength < lrExpWarmupSteps) {
      throw new IllegalArgumentException("need 0 <= --lr-exp-warmup-steps <= --lr-total-iter-length, got "
          + lrExpWarmupSteps + " and " + lrTotalIterLength);
    }
    if (checkpointingSteps < 1) {
      throw new IllegalArgumentException("--checkpointing-steps must be >= 1, got " + checkpointingSteps);
    }
    if (checkpointsTotalLimit < 0) {
      throw new IllegalArgumentException("--checkpoints-total-limit must be >= 0, got " + checkpointsTotalLimit);
    }
  }

  /** Options without gradient checkpointing. */
  public TrainOptions(long maxTrainSteps, int trainBatchSize, int gradientAccumulationSteps, double learningRate,
      double adamBeta1, double adamBeta2, double adamWeightDecay, double adamEpsilon, double maxGradNorm,
      long lrExpWarmupSteps, long lrTotalIterLength, long checkpointingSteps, int checkpointsTotalLimit, long seed) {
    this(maxTrainSteps, trainBatchSize, gradientAccumulationSteps, learningRate, adamBeta1, adamBeta2, adamWeightDecay,
        adamEpsilon, maxGradNorm, lrExpWarmupSteps, lrTotalIterLength, checkpointingSteps, checkpointsTotalLimit, seed,
        false);
  }

  /**
   * train.py's defaults: 20000 steps, batch 2 x accumulation 16, lr 3e-5, warm-up 100 of 20000, seed 0, no gradient
   * checkpointing.
   */
  public static TrainOptions defaults() {
    return new TrainOptions(20000, 2, 16, 3e-5, 0.9, 0.999, 1e-2, 1e-8, 1.0, 100, 20000, 20000, 0, 0);
  }

  /** The learning-rate schedule these options describe (single process). */
  public IterExponential schedule() {
    return new IterExponential(lrTotalIterLength, LR_FINAL_RATIO, lrExpWarmupSteps);
  }

  public TrainOptions withMaxTrainSteps(long v) {
    return new TrainOptions(v, trainBatchSize, gradientAccumulationSteps, learningRate, adamBeta1, adamBeta2,
        adamWeightDecay, adamEpsilon, maxGradNorm, lrExpWarmupSteps, lrTotalIterLength, checkpointingSteps,
        checkpointsTotalLimit, seed, gradientCheckpointing);
  }

  public TrainOptions withBatch(int batchSize, int accumulation) {
    return new TrainOptions(maxTrainSteps, batchSize, accumulation, learningRate, adamBeta1, adamBeta2,
        adamWeightDecay, adamEpsilon, maxGradNorm, lrExpWarmupSteps, lrTotalIterLength, checkpointingSteps,
        checkpointsTotalLimit, seed, gradientCheckpointing);
  }

  public TrainOptions withLearningRate(double lr, long warmupSteps, long totalIterLength) {
    return new TrainOptions(maxTrainSteps, trainBatchSize, gradientAccumulationSteps, lr, adamBeta1, adamBeta2,
        adamWeightDecay, adamEpsilon, maxGradNorm, warmupSteps, totalIterLength, checkpointingSteps,
        checkpointsTotalLimit, seed, gradientCheckpointing);
  }

  public TrainOptions withMaxGradNorm(double v) {
    return new TrainOptions(maxTrainSteps, trainBatchSize, gradientAccumulationSteps, learningRate, adamBeta1,
        adamBeta2, adamWeightDecay, adamEpsilon, v, lrExpWarmupSteps, lrTotalIterLength, checkpointingSteps,
        checkpointsTotalLimit, seed, gradientCheckpointing);
  }

  public TrainOptions withCheckpointing(long everySteps, int totalLimit) {
    return new TrainOptions(maxTrainSteps, trainBatchSize, gradientAccumulationSteps, learningRate, adamBeta1,
        adamBeta2, adamWeightDecay, adamEpsilon, maxGradNorm, lrExpWarmupSteps, lrTotalIterLength, everySteps,
        totalLimit, seed, gradientCheckpointing);
  }

  public TrainOptions withSeed(long v) {
    return new TrainOptions(maxTrainSteps, trainBatchSize, gradientAccumulationSteps, learningRate, adamBeta1,
        adamBeta2, adamWeightDecay, adamEpsilon, maxGradNorm, lrExpWarmupSteps, lrTotalIterLength, checkpointingSteps,
        checkpointsTotalLimit, v, gradientCheckpointing);
  }

  public TrainOptions withGradientCheckpointing(boolean v) {
    return new TrainOptions(maxTrainSteps, trainBatchSize, gradientAccumulationSteps, learningRate, adamBeta1,
        adamBeta2, adamWeightDecay, adamEpsilon, maxGradNorm, lrExpWarmupSteps, lrTotalIterLength, checkpointingSteps,
        checkpointsTotalLimit, seed, v);
  }
}
