package marigold4j.torch;

import java.util.List;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/** libtorch's autograd entry points behind plain Java signatures. */
public final class Autograd {
  private Autograd() {}

  /**
   * {@code torch.autograd.backward(outputs, gradOutputs)}: back-propagates from several outputs at once, each seeded
   * with its gradient, accumulating into the leaves' {@code grad()}. The graph is freed ({@code retain_graph} left at
   * its default, {@code create_graph} false); no {@code inputs} restriction.
   *
   * @param outputs tensors that require grad
   * @param gradOutputs one gradient per output, of its shape
   */
  public static void backward(List<Tensor> outputs, List<Tensor> gradOutputs) {
    if (outputs.size() != gradOutputs.size()) {
      throw new IllegalArgumentException(outputs.size() + " outputs but " + gradOutputs.size() + " gradients");
    }
    TensorVector outs = new TensorVector(outputs.toArray(new Tensor[0]));
    TensorVector grads = new TensorVector(gradOutputs.toArray(new Tensor[0]));
    torch.backward(outs, grads, new BoolOptional(), false, new TensorVector());
  }
}
