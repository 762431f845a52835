package marigold4j.models.unet;

import marigold4j.nn.Linear;
import marigold4j.nn.Module;
import marigold4j.nn.ModuleList;
import marigold4j.torch.Scopes;
import org.bytedeco.pytorch.Tensor;

/**
 * diffusers' {@code FeedForward} with the GEGLU activation the SD2 transformer blocks use: {@code net} is
 * [GEGLU, Dropout, Linear], so the weights live at {@code net.0.proj} and {@code net.2}.
 */
public final class FeedForward extends Module {
  private final GEGLU geglu;
  private final Linear out;

  /** @param mult inner width factor (4 in diffusers) */
  public FeedForward(long dim, long mult) {
    long inner = dim * mult;
    ModuleList<Module> net = child("net", new ModuleList<>());
    geglu = new GEGLU(dim, inner);
    out = new Linear(inner, dim, true);
    net.add(geglu);
    net.add(new Dropout());                 // holds index 1, as in diffusers; the identity at inference
    net.add(out);
  }

  /** (B, L, dim) -> (B, L, dim). */
  public Tensor forward(Tensor x) {
    Tensor inner = geglu.forward(x);
    Tensor y = out.forward(inner);
    Scopes.release(inner);
    return y;
  }

  /** A parameterless placeholder for {@code torch.nn.Dropout}. */
  static final class Dropout extends Module {}
}
