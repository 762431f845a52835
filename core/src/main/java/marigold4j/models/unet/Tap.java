package marigold4j.models.unet;

import java.util.function.BiConsumer;
import org.bytedeco.pytorch.Tensor;

/**
 * Where a UNet forward pass reports named intermediate activations (for tests and debugging). Names are the
 * reference's PyTorch module paths; tuple outputs are flattened as {@code .0, .1, ...}, as forward hooks record them.
 * {@link #NONE} reports nothing and costs a null check per call site.
 */
public final class Tap {
  /** Reports nothing. */
  public static final Tap NONE = new Tap(null, "");

  private final BiConsumer<String, Tensor> sink;
  private final String prefix;

  private Tap(BiConsumer<String, Tensor> sink, String prefix) {
    this.sink = sink;
    this.prefix = prefix;
  }

  /** A tap reporting to {@code sink}, or {@link #NONE} when it is null. */
  public static Tap of(BiConsumer<String, Tensor> sink) {
    return sink == null ? NONE : new Tap(sink, "");
  }

  /**
   * Whether values are being reported. While they are, a forward pass keeps every reported value alive until its
   * scope closes (the sink may hold on to them); otherwise it frees intermediates as soon as they are consumed.
   */
  public boolean active() {
    return sink != null;
  }

  /** The tap of child module {@code name}. */
  public Tap child(String name) {
    return sink == null ? this : new Tap(sink, prefix + name + ".");
  }

  /** The tap of child {@code index} of the module list {@code name}. */
  public Tap child(String name, int index) {
    return sink == null ? this : new Tap(sink, prefix + name + "." + index + ".");
  }

  /** Reports the output of child module {@code name}. */
  public void emit(String name, Tensor value) {
    if (sink != null) sink.accept(prefix + name, value);
  }

  /** Reports the output of child {@code index} of the module list {@code name}. */
  public void emit(String name, int index, Tensor value) {
    if (sink != null) sink.accept(prefix + name + "." + index, value);
  }
}
