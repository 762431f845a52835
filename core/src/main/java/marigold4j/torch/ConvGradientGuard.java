package marigold4j.torch;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guards training against a oneDNN defect seen on some processors (measured on an AMD EPYC of family 26, "Zen 5",
 * with the oneDNN inside PyTorch 2.10): the input gradient ({@code backward_data}) of an fp32 convolution whose output
 * channel count is not a multiple of oneDNN's 16-channel block comes out wrong (relative errors 0.7-1, sometimes NaN)
 * as soon as the batch holds more than one image. Forward results and weight gradients are right; batch 1 is right;
 * the native (non-oneDNN) kernels are right. In the E2E-FT recipe (batch 2) this hits the UNet's {@code conv_out}
 * (4 channels) and the VAE decoder's {@code conv_out} (3 channels), so every gradient upstream of them was wrong.
 *
 * <p>The first convolution that needs an input gradient runs a small probe per dtype (two 16-channel 6x8 images
 * into 4 channels, compared with a float64 reference on the native kernels; a few milliseconds). Where the probe
 * finds the defect, such convolutions are computed with their weight zero-padded to the next multiple of 16 output
 * channels and the extra channels dropped: oneDNN pads to that block internally anyway, so the values are the same
 * and the gradients become right. Where it does not, nothing changes.
 */
final class ConvGradientGuard {
  private static final Logger LOG = LoggerFactory.getLogger(ConvGradientGuard.class);
  private static final int BLOCK = 16;
  private static final Map<torch.ScalarType, Boolean> DEFECTIVE = new ConcurrentHashMap<>();

  private ConvGradientGuard() {}

  /** Whether {@code conv(x, w)} must be padded so that its input gradient is computed correctly on this host. */
  static boolean needsPadding(Tensor x, Tensor w) {
    if (!x.requires_grad() || x.is_cuda() || x.size(0) < 2 || w.size(0) % BLOCK == 0) return false;
    if (!x.is_floating_point() || Tensors.dtype(x) == torch.ScalarType.Double) return false;  // oneDNN has no f64
    return DEFECTIVE.computeIfAbsent(Tensors.dtype(x), ConvGradientGuard::probe);
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

  /** True when oneDNN's input gradient of a batched 16 -> 4 channel convolution disagrees with float64. */
  static boolean probe(torch.ScalarType dtype) {
    try (PointerScope scope = new PointerScope()) {
      // fixed values, no draw from the global generator (training's random stream must not move)
      Tensor x = torch.sin(torch.arange(new org.bytedeco.pytorch.Scalar(2 * 16 * 6 * 8))
          .to(torch.ScalarType.Double).mul(new org.bytedeco.pytorch.Scalar(0.37))).reshape(2, 16, 6, 8);
      Tensor w = torch.cos(torch.arange(new org.bytedeco.pytorch.Scalar(4 * 16 * 3 * 3))
          .to(torch.ScalarType.Double).mul(new org.bytedeco.pytorch.Scalar(0.53))).reshape(4, 16, 3, 3).div(
          new org.bytedeco.pytorch.Scalar(12));
      Tensor g = torch.sin(torch.arange(new org.bytedeco.pytorch.Scalar(2 * 4 * 6 * 8))
          .to(torch.ScalarType.Double).mul(new org.bytedeco.pytorch.Scalar(0.71))).reshape(2, 4, 6, 8);
      double[] errors = new double[1];
      Tensor reference = inputGradient(x, w, g);
      Tensor actual = inputGradient(x.to(dtype), w.to(dtype), g.to(dtype)).to(torch.ScalarType.Double);
      errors[0] = actual.sub(reference).abs().max().item_double() / reference.abs().max().item_double();
      boolean bad = !(errors[0] < (dtype == torch.ScalarType.Float ? 1e-4 : 5e-2));   // NaN counts as defective
      if (bad) {
        LOG.warn("oneDNN computes wrong input gradients of batched convolutions with fewer than {} output channels "
            + "on this processor ({} relative error, {}): such convolutions are padded to {} channels while "
            + "gradients are needed (same results)", BLOCK, String.format(java.util.Locale.ROOT, "%.2g", errors[0]),
            dtype, BLOCK);
      } else {
        LOG.debug("oneDNN convolution input gradients checked for {}: {} relative error", dtype, errors[0]);
      }
      return bad;
    }
  }

  private static Tensor inputGradient(Tensor x, Tensor w, Tensor g) {
    Tensor xi = x.clone().requires_grad_(true);
    Tensor y = raw(xi, w, new TensorOptional(), 1, 1);
    y.mul(g).sum().backward();
    return xi.grad().clone();
  }
}
