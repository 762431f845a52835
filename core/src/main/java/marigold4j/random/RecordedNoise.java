package marigold4j.random;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * Replays draws recorded from the original Python run, failing loudly when the reimplementation asks for a draw of
 * another kind or shape than the original made at that point (the draw order is part of the semantics).
 */
public final class RecordedNoise implements NoiseSource {
  private enum Kind { RANDN_LIKE, RANDN, UNIFORM }

  private record Draw(Kind kind, Tensor tensor, double value) {}

  private final Deque<Draw> draws = new ArrayDeque<>();
  private int served;

  /** Appends a recorded {@code torch.randn_like} result. */
  public RecordedNoise addRandnLike(Tensor recorded) {
    draws.add(new Draw(Kind.RANDN_LIKE, recorded, Double.NaN));
    return this;
  }

  /** Appends a recorded {@code torch.randn} result. */
  public RecordedNoise addRandn(Tensor recorded) {
    draws.add(new Draw(Kind.RANDN, recorded, Double.NaN));
    return this;
  }

  /** Appends a recorded {@code random.random()} / {@code np.random.random()} value. */
  public RecordedNoise addUniform(double value) {
    draws.add(new Draw(Kind.UNIFORM, null, value));
    return this;
  }

  /** How many recorded draws have not been consumed. */
  public int remaining() {
    return draws.size();
  }

  @Override
  public Tensor randnLike(Tensor x) {
    Tensor t = next(Kind.RANDN_LIKE).tensor();
    checkShape(t, Tensors.shape(x));
    return t.to(x.device(), Tensors.dtype(x));
  }

  @Override
  public Tensor randn(long... shape) {
    Tensor t = next(Kind.RANDN).tensor();
    checkShape(t, shape);
    return t;
  }

  @Override
  public double random() {
    return next(Kind.UNIFORM).value();
  }

  private Draw next(Kind kind) {
    Draw d = draws.poll();
    if (d == null) throw new IllegalStateException("draw " + served + " (" + kind + ") requested, but only "
        + served + " were recorded");
    if (d.kind() != kind) {
      throw new IllegalStateException("draw " + served + ": " + kind + " requested but the original made " + d.kind());
    }
    served++;
    return d;
  }

  private void checkShape(Tensor t, long[] shape) {
    if (!Arrays.equals(Tensors.shape(t), shape)) {
      throw new IllegalStateException("draw " + (served - 1) + ": shape " + Arrays.toString(shape)
          + " requested but the recorded draw has " + Arrays.toString(Tensors.shape(t)));
    }
  }
}
