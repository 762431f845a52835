package marigold4j.torch;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * Steers training around a oneDNN defect (measured on an AMD EPYC of family 26, "Zen 5", with the oneDNN inside
 * PyTorch 2.10): the input gradient ({@code backward_data}) of a float convolution whose output channel count is not a
 * multiple of oneDNN's 16-channel block comes out wrong (relative errors 0.3-1, sometimes NaN, varying from call to
 * call) as soon as the batch holds more than one image. Forward results, weight gradients and batch 1 are right, and
 * so are the native (non-oneDNN) kernels. In the E2E-FT recipe (batch 2) this hits the UNet's {@code conv_out}
 * (4 channels) and the VAE decoder's {@code conv_out} (3 channels), so every gradient upstream of them was wrong.
 *
 * <p>A probe cannot tell reliably whether a host is affected (the garbage depends on what the padded block held),
 * so every CPU convolution that will need an input gradient, has a batch above one and a channel count off the block
 * is computed with its weight zero-padded to the next multiple of 16 output channels and the extra channels dropped.
 * oneDNN pads to that block internally anyway, so the values are the same ({@code ConvGradientGuardTest}) at no
 * measurable cost; inference (no gradient) never takes this path.
 */
final class ConvGradientGuard {
  private static final int BLOCK = 16;

  private ConvGradientGuard() {}

  /** Whether {@code conv(x, w)} must be padded so that its input gradient is computed correctly. */
  static boolean needsPadding(Tensor x, Tensor w) {
    if (!x.requires_grad() || x.is_cuda() || x.size(0) < 2 || w.size(0) % BLOCK == 0) return false;
    return x.is_floating_point() && Tensors.dtype(x) != torch.ScalarType.Double;   // oneDNN has no float64 kernels
  }

  /** The convolution with {@code w}'s output channels zero-padded to a multiple of 16, narrowed back. */
  static Tensor paddedConv(Tensor x, Tensor w, Tensor bias, long stride, long padding) {
    long out = w.size(0);
    long padded = (out + BLOCK - 1) / BLOCK * BLOCK;
    long[] extra = Tensors.shape(w);
    extra[0] = padded - out;
    Tensor wp = torch.cat(new org.bytedeco.pytorch.TensorVector(w, torch.zeros(extra, w.options())), 0);
    TensorOptional bp = new TensorOptional();
    if (bias != null) {
      bp = new TensorOptional(torch.cat(new org.bytedeco.pytorch.TensorVector(bias,
          torch.zeros(new long[] {padded - out}, bias.options())), 0));
    }
    Tensor y = raw(x, wp, bp, stride, padding);
    return y.narrow(1, 0, out).contiguous(x.suggest_memory_format());
  }

  static Tensor raw(Tensor x, Tensor w, TensorOptional bias, long stride, long padding) {
    return torch.conv2d(x, w, bias, new long[] {stride, stride}, new long[] {padding, padding}, new long[] {1, 1}, 1);
  }
}
