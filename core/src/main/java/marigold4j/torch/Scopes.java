package marigold4j.torch;

import java.util.function.Supplier;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * Frees a layer's temporaries as soon as the layer returns, as Python's reference counting does, instead of when the
 * caller's {@code PointerScope} closes. Without it, a forward pass keeps every activation of every layer until the
 * end of the pass: at 768x576 the SD2 VAE decoder alone would hold several gigabytes.
 */
public final class Scopes {
  private Scopes() {}

  /**
   * Runs {@code layer} in a nested scope and hands its result to the enclosing scope (which then frees it, as it
   * would have without this call); when there is no enclosing scope the result is left unowned, as unscoped tensors
   * are. Every other tensor {@code layer} creates is released on return. Autograd is unaffected: the graph holds
   * its own references to the tensors it saved.
   */
  public static Tensor freeTemporaries(Supplier<Tensor> layer) {
    PointerScope outer = PointerScope.getInnerScope();
    try (PointerScope scope = new PointerScope()) {
      Tensor out = layer.get();
      if (outer != null) {
        outer.attach(out);
      } else {
        out.retainReference();
      }
      return out;
    }
  }
}
