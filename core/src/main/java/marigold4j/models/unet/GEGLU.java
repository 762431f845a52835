package marigold4j.models.unet;

import marigold4j.nn.Linear;
import marigold4j.nn.Module;
import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;

/** diffusers' {@code GEGLU}: one projection to twice the width, split into a value half and an exact-GELU gate. */
public final class GEGLU extends Module {
  private final Linear proj;

  public GEGLU(long dimIn, long dimOut) {
    proj = child("proj", new Linear(dimIn, dimOut * 2, true));
  }

  /** (..., dimIn) -> (..., dimOut). */
  public Tensor forward(Tensor x) {
    TensorVector halves = proj.forward(x).chunk(2, -1);                  // 2 x (..., dimOut), views
    // With autograd off the gate and the product are computed in place, in the projection's own memory.
    return F.mulConsume(halves.get(0), F.geluConsume(halves.get(1)));
  }
}
