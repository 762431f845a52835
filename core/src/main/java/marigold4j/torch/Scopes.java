package marigold4j.torch;

import org.bytedeco.pytorch.Tensor;

/**
 * Frees a forward pass's intermediate results as soon as they are consumed, as Python's reference counting does,
 * instead of when the caller's {@code PointerScope} closes. Without it, a forward pass keeps every activation of every
 * layer until the end of the pass: at 768x576 the SD2 VAE decoder alone would hold several gigabytes.
 */
public final class Scopes {
  private Scopes() {}

  /**
   * One link of a layer chain: returns {@code next} and releases {@code previous}, the output the next layer has just
   * consumed, unless it is the chain's {@code input} (which belongs to the caller).
   */
  public static Tensor chain(Tensor previous, Tensor next, Tensor input) {
    if (previous != input && previous != next) previous.close();
    return next;
  }

  /**
   * Frees intermediate results now instead of when their {@code PointerScope} closes (the scope's later release is
   * then a no-op). Only for tensors the caller created and nobody else holds: a view keeps its base's memory alive,
   * and autograd keeps what it saved, so neither is affected.
   */
  public static void release(Tensor... intermediates) {
    for (Tensor t : intermediates) {
      if (t != null) t.close();
    }
  }

  /**
   * Hands memory freed by native code back to the operating system (glibc's {@code malloc_trim}). Freed activations
   * otherwise stay in the allocator's heaps, so the process would keep its peak resident size between images.
   * Costs a few milliseconds; call it between images, not between layers.
   */
  public static void returnFreedMemory() {
    org.bytedeco.javacpp.Pointer.trimMemory();
  }
}
