package marigold4j.torch;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * Steers convolutions around oneDNN defects measured on an AMD EPYC of family 26 ("Zen 5") with the oneDNN inside
 * PyTorch 2.10. They all concern channel counts that are not a multiple of oneDNN's 16-channel block, which oneDNN
 * pads internally; the padding evidently holds garbage, for results vary from call to call and sometimes are NaN:
 * <ul>
 *   <li>float32: the input gradient ({@code backward_data}) of a convolution with off-block <em>output</em> channels
 *       is wrong (relative error 0.3-1) once the batch holds two images. In the E2E-FT recipe (batch 2) that is the
 *       UNet's {@code conv_out} (4 channels) and the VAE decoder's {@code conv_out} (3), so every UNet gradient was
 *       wrong. Forward results, weight gradients and every on-block layer are right.</li>
 *   <li>bf16: the forward pass with off-block output channels on NCHW data (0.2), and the input gradient with
 *       off-block output channels (any layout, any batch) or off-block input channels (NCHW): 0.2 to NaN.</li>
 * </ul>
 * A probe cannot tell reliably whether a host is affected, so where a defect could apply the convolution is computed
 * on zero-padded channels and narrowed back: the weight's output channels padded to the block whenever an input
 * gradient will be needed (and always in bf16 / fp16, or under CPU autocast); in reduced precision with an input
 * gradient, the input channels too (zero channels appended to the input). Zero channels add exact zeros, so the values
 * are those of a correct kernel ({@code ConvGradientGuardTest}); the cost is that of the channels oneDNN pads anyway,
 * plus a copy of the input of the few small-channel layers in reduced-precision training. Float32 inference never
 * takes this path.
 */
final class ConvGradientGuard {
  private static final int BLOCK = 16;

  private ConvGradientGuard() {}

  /** The convolution, computed around the defects where they apply (see the class comment). */
  static Tensor conv(Tensor x, Tensor w, Tensor bias, long stride, long padding) {
    if (x.is_cuda() || !x.is_floating_point() || Tensors.dtype(x) == torch.ScalarType.Double) {
      return raw(x, w, bias == null ? new TensorOptional() : new TensorOptional(bias), stride, padding);
    }
    // under CPU autocast (mixed-precision training) the op itself casts float32 inputs to bf16
    boolean half = Tensors.isHalfPrecision(x) || torch.is_autocast_enabled(torch.DeviceType.CPU);
    boolean outOffBlock = w.size(0) % BLOCK != 0;
    boolean padOut = outOffBlock && (half || x.requires_grad());
    boolean padIn = half && x.requires_grad() && w.size(1) % BLOCK != 0;
    return paddedConv(x, w, bias, stride, padding, padOut, padIn);
  }

  /**
   * The convolution with {@code w}'s output channels ({@code padOut}) and / or input channels ({@code padIn}, with
   * zero channels appended to {@code x}) zero-padded to a multiple of 16; the output narrowed back.
   */
  static Tensor paddedConv(Tensor x, Tensor w, Tensor bias, long stride, long padding, boolean padOut,
      boolean padIn) {
    long out = w.size(0);
    Tensor wp = w;
    Tensor xp = x;
    TensorOptional bp = bias == null ? new TensorOptional() : new TensorOptional(bias);
    if (padIn) {
      wp = zeroPad(wp, 1);
      xp = zeroPad(x, 1);                                              // (B, Cin rounded up, H, W), extra channels 0
    }
    if (padOut) {
      wp = zeroPad(wp, 0);
      if (bias != null) bp = new TensorOptional(zeroPad(bias, 0));
    }
    if (!padIn && !padOut) return raw(x, w, bp, stride, padding);
    Tensor y = raw(xp, wp, bp, stride, padding);
    return padOut ? y.narrow(1, 0, out).contiguous(x.suggest_memory_format()) : y;
  }

  /** {@code t} with zeros appended along {@code dim} up to the next multiple of 16. */
  private static Tensor zeroPad(Tensor t, int dim) {
    long n = t.size(dim);
    long extra = (n + BLOCK - 1) / BLOCK * BLOCK - n;
    if (extra == 0) return t;
    long[] shape = Tensors.shape(t);
    shape[dim] = extra;
    Tensor zeros = torch.zeros(shape, t.options());
    if (t.dim() == 4 && t.is_contiguous(torch.MemoryFormat.ChannelsLast) && !t.is_contiguous()) {
      zeros = zeros.contiguous(torch.MemoryFormat.ChannelsLast);
    }
    return torch.cat(new org.bytedeco.pytorch.TensorVector(t, zeros), dim);
  }

  static Tensor raw(Tensor x, Tensor w, TensorOptional bias, long stride, long padding) {
    return torch.conv2d(x, w, bias, new long[] {stride, stride}, new long[] {padding, padding}, new long[] {1, 1}, 1);
  }
}
