package marigold4j.train;

/**
 * Marigold's iteration-wise exponential learning-rate factor (E2E-FT {@code training/util/lr_scheduler.py}): a linear
 * warm-up from 0, then an exponential decay that reaches {@code finalRatio} at {@code totalIterLength} and stays
 * there. Each value is computed from the iteration number directly, not by repeated multiplication.
 *
 * <p>Used like torch's {@code LambdaLR}: the learning rate of optimizer step k (counting from 0) is
 * {@code baseLr * factor(k)}. E2E-FT's {@code train.py} multiplies both lengths by the number of processes.
 */
public final class IterExponential {
  private final long totalIterLength;
  private final long warmupSteps;
  private final double finalRatio;

  /**
   * @param totalIterLength iteration at which the factor reaches {@code finalRatio}
   * @param finalRatio the factor from {@code totalIterLength} on
   * @param warmupSteps iterations of linear warm-up (0 for none)
   */
  public IterExponential(long totalIterLength, double finalRatio, long warmupSteps) {
    if (warmupSteps < 0 || totalIterLength < warmupSteps) {
      throw new IllegalArgumentException("need 0 <= warmupSteps <= totalIterLength, got " + warmupSteps + ", "
          + totalIterLength);
    }
    if (!(finalRatio > 0)) throw new IllegalArgumentException("finalRatio must be positive, got " + finalRatio);
    this.totalIterLength = totalIterLength;
    this.warmupSteps = warmupSteps;
    this.finalRatio = finalRatio;
  }

  /** The learning-rate factor at iteration {@code nIter} (0 for the first optimizer step). */
  public double factor(long nIter) {
    if (nIter < warmupSteps) return (double) nIter / warmupSteps;
    if (nIter >= totalIterLength) return finalRatio;
    double progress = (double) (nIter - warmupSteps) / (totalIterLength - warmupSteps);
    return Math.exp(progress * Math.log(finalRatio));
  }

  /** {@code baseLr * factor(nIter)}, the value LambdaLR sets. */
  public double learningRate(double baseLr, long nIter) {
    return baseLr * factor(nIter);
  }

  @Override
  public String toString() {
    return "IterExponential(total=" + totalIterLength + ", finalRatio=" + finalRatio + ", warmup=" + warmupSteps + ")";
  }
}
