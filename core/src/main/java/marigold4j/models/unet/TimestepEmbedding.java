package marigold4j.models.unet;

import marigold4j.nn.Linear;
import marigold4j.nn.Module;
import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;

/** diffusers' {@code TimestepEmbedding} with SiLU and no condition projection: {@code linear_2(silu(linear_1(x)))}. */
public final class TimestepEmbedding extends Module {
  private final Linear linear1;
  private final Linear linear2;

  public TimestepEmbedding(long in, long timeEmbedDim) {
    linear1 = child("linear_1", new Linear(in, timeEmbedDim, true));
    linear2 = child("linear_2", new Linear(timeEmbedDim, timeEmbedDim, true));
  }

  /** (B, in) -> (B, timeEmbedDim). */
  public Tensor forward(Tensor x) {
    return linear2.forward(F.silu(linear1.forward(x)));
  }
}
