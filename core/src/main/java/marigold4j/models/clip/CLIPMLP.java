package marigold4j.models.clip;

import marigold4j.nn.Linear;
import marigold4j.nn.Module;
import org.bytedeco.pytorch.Tensor;

/** transformers' CLIPMLP: fc1, activation, fc2. */
final class CLIPMLP extends Module {
  private final Linear fc1;
  private final Linear fc2;
  private final CLIPActivation act;

  CLIPMLP(long dim, long intermediate, CLIPActivation act) {
    this.fc1 = child("fc1", new Linear(dim, intermediate, true));
    this.fc2 = child("fc2", new Linear(intermediate, dim, true));
    this.act = act;
  }

  Tensor forward(Tensor x) {                             // (B, L, D) -> (B, L, I) -> (B, L, D)
    return fc2.forward(act.apply(fc1.forward(x)));
  }
}
