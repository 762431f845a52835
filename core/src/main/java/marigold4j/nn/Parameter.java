package marigold4j.nn;

import java.util.Arrays;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * A named slot for a weight tensor. Its shape is fixed when the module is built, from the config alone, so the
 * expected state dict of a full-size model can be listed without allocating it; the tensor arrives when weights are
 * loaded (or randomly initialised).
 */
public final class Parameter {
  /** Parameters are trained and saved; persistent buffers are saved; non-persistent buffers are neither. */
  public enum Kind { PARAMETER, BUFFER, NON_PERSISTENT_BUFFER }

  private final long[] shape;
  private final Kind kind;
  private Tensor value;

  Parameter(long[] shape, Kind kind) {
    this.shape = shape.clone();
    this.kind = kind;
  }

  public long[] shape() {
    return shape.clone();
  }

  public Kind kind() {
    return kind;
  }

  public long numel() {
    long n = 1;
    for (long d : shape) n *= d;
    return n;
  }

  public boolean isLoaded() {
    return value != null;
  }

  /** The tensor; fails loudly if weights were never loaded into this slot. */
  public Tensor get() {
    if (value == null) throw new IllegalStateException("parameter of shape " + Arrays.toString(shape) + " not loaded");
    return value;
  }

  /**
   * Installs {@code t}, which must have this slot's shape; the previous tensor, if any, is released. The slot holds
   * its own reference, so weights loaded inside a caller's {@code PointerScope} survive that scope.
   */
  public void set(Tensor t) {
    long[] actual = Tensors.shape(t);
    if (!Arrays.equals(actual, shape)) {
      throw new IllegalArgumentException("shape " + Arrays.toString(actual) + " where " + Arrays.toString(shape)
          + " is expected");
    }
    t.retainReference();
    if (value != null) value.releaseReference();
    value = t;
  }

  void release() {
    if (value != null) value.releaseReference();
    value = null;
  }
}
