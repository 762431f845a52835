package marigold4j.torch;

import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.InterpolateFuncOptions;
import org.bytedeco.pytorch.InterpolateMode;
import org.bytedeco.pytorch.LongVector;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.kArea;
import org.bytedeco.pytorch.kBicubic;
import org.bytedeco.pytorch.kBilinear;
import org.bytedeco.pytorch.kNearest;
import org.bytedeco.pytorch.kNearestExact;
import org.bytedeco.pytorch.global.torch;

/**
 * Functional tensor operations, the one place where bytedeco's calling conventions (optionals, scalars, option
 * structs, tuple layouts) are spelled out. Model code calls these, never the raw bindings for these ops.
 */
public final class F {
  private F() {}

  /** Interpolation kernels, named as torch.nn.functional.interpolate names them. */
  public enum Mode { NEAREST, NEAREST_EXACT, BILINEAR, BICUBIC, AREA }

  public static Scalar s(double v) {
    return new Scalar(v);
  }

  public static TensorOptional opt(Tensor t) {
    return t == null ? new TensorOptional() : new TensorOptional(t);
  }

  /** 2-D convolution; see {@link ConvGradientGuard} for the oneDNN defects it steers around. */
  public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, long stride, long padding) {
    return ConvGradientGuard.conv(x, w, bias, stride, padding);
  }

  public static Tensor linear(Tensor x, Tensor w, Tensor bias) {
    return torch.linear(x, w, opt(bias));
  }

  public static Tensor groupNorm(Tensor x, long groups, Tensor w, Tensor b, double eps) {
    return torch.group_norm(x, groups, opt(w), opt(b), eps, false);
  }

  /** Layer norm over the last dimension. */
  public static Tensor layerNorm(Tensor x, Tensor w, Tensor b, double eps) {
    long last = x.size(-1);
    return torch.layer_norm(x, new long[] {last}, opt(w), opt(b), eps, false);
  }

  public static Tensor silu(Tensor x) {
    return torch.silu(x);
  }

  /*
   * The *Consume variants take a tensor the caller has just created and never reads again (its "fresh" first
   * argument). With autograd off they overwrite it instead of allocating a result: at 768x576 every fresh VAE
   * activation is 226-453 MB, and writing into memory already mapped is several times faster than faulting in a new
   * buffer. With autograd on they are the ordinary ops, since the graph may have saved the tensor's values.
   */

  /** SiLU of {@code fresh}, overwriting it when autograd is off. */
  public static Tensor siluConsume(Tensor fresh) {
    if (!autogradOff()) return torch.silu(fresh);
    torch.silu_(fresh);                 // returns a non-owning alias; hand back the owning object instead
    return fresh;
  }

  /** Exact GELU of {@code fresh}, overwriting it when autograd is off. */
  public static Tensor geluConsume(Tensor fresh) {
    if (!autogradOff()) return torch.gelu(fresh);
    torch.gelu_(fresh);
    return fresh;
  }

  /** {@code fresh + other}, written into {@code fresh} when autograd is off and the result has its shape and dtype. */
  public static Tensor addConsume(Tensor fresh, Tensor other) {
    if (!overwritable(fresh, other)) return fresh.add(other);
    fresh.add_(other);
    return fresh;
  }

  /** {@code fresh * other}, written into {@code fresh} when autograd is off and the result has its shape and dtype. */
  public static Tensor mulConsume(Tensor fresh, Tensor other) {
    if (!overwritable(fresh, other)) return fresh.mul(other);
    fresh.mul_(other);
    return fresh;
  }

  private static boolean autogradOff() {
    return !org.bytedeco.pytorch.GradMode.is_enabled();
  }

  private static boolean overwritable(Tensor fresh, Tensor other) {
    if (!autogradOff() || Tensors.dtype(fresh) != Tensors.dtype(other) || other.dim() > fresh.dim()) {
      return false;
    }
    for (int i = 1; i <= other.dim(); i++) {
      long o = other.size(-i);
      if (o != 1 && o != fresh.size(-i)) return false;
    }
    return true;
  }

  /** Exact (erf) GELU. */
  public static Tensor gelu(Tensor x) {
    return torch.gelu(x);
  }

  public static Tensor geluTanh(Tensor x) {
    return torch.gelu(x, "tanh");
  }

  /** CLIP's quick_gelu: x * sigmoid(1.702 x). */
  public static Tensor quickGelu(Tensor x) {
    return x.mul(torch.sigmoid(x.mul(s(1.702))));
  }

  /**
   * Scaled dot-product attention over (B, heads, L, headDim) tensors. On CPU, reduced-precision inputs are upcast to
   * fp32 for the attention itself (bf16 SDPA is about 13x slower there) and the result cast back.
   */
  public static Tensor attention(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, Double scale) {
    torch.ScalarType dtype = Tensors.dtype(q);
    boolean upcast = !q.is_cuda() && Tensors.isHalfPrecision(q);
    Tensor qc = upcast ? q.to(torch.ScalarType.Float) : q;
    Tensor kc = upcast ? k.to(torch.ScalarType.Float) : k;
    Tensor vc = upcast ? v.to(torch.ScalarType.Float) : v;
    Tensor maskc = upcast && mask != null && mask.is_floating_point() ? mask.to(torch.ScalarType.Float) : mask;
    DoubleOptional sc = scale == null ? new DoubleOptional() : new DoubleOptional(scale);
    java.util.function.Supplier<Tensor> sdpa =
        () -> torch.scaled_dot_product_attention(qc, kc, vc, opt(maskc), 0.0, causal, sc, false);
    Tensor out = q.is_cuda() ? sdpa.get() : Engine.withSingleThreadedBlas(sdpa);
    return upcast ? out.to(dtype) : out;
  }

  /** torch.nn.functional.interpolate to an explicit size. */
  public static Tensor interpolate(Tensor x, long h, long w, Mode mode, boolean antialias) {
    InterpolateFuncOptions o = new InterpolateFuncOptions();
    o.size().put(new LongVector(h, w));
    switch (mode) {
      case NEAREST -> o.mode().put(new InterpolateMode(new kNearest()));
      case NEAREST_EXACT -> o.mode().put(new InterpolateMode(new kNearestExact()));
      case AREA -> o.mode().put(new InterpolateMode(new kArea()));
      case BILINEAR -> {
        o.mode().put(new InterpolateMode(new kBilinear()));
        o.align_corners().put(false);
      }
      case BICUBIC -> {
        o.mode().put(new InterpolateMode(new kBicubic()));
        o.align_corners().put(false);
      }
    }
    if (antialias) o.antialias().put(true);
    return torch.interpolate(x, o);
  }

  /** Nearest-neighbour upsampling by an integer factor or to a size (the UNet/VAE Upsample2D). */
  public static Tensor upsampleNearest(Tensor x, long h, long w) {
    return torch.upsample_nearest2d(x, new long[] {h, w}, new DoubleOptional(), new DoubleOptional());
  }

  public static Tensor clamp(Tensor x, double lo, double hi) {
    return x.clamp(new ScalarOptional(s(lo)), new ScalarOptional(s(hi)));
  }

  public static Tensor cat(long dim, Tensor... ts) {
    return torch.cat(new org.bytedeco.pytorch.TensorVector(ts), dim);
  }

  /** Zero padding of the last two dimensions (torch.nn.functional.pad with (left, right, top, bottom)). */
  public static Tensor pad2d(Tensor x, long left, long right, long top, long bottom) {
    return torch.constant_pad_nd(x, new long[] {left, right, top, bottom}, s(0));
  }

  /**
   * A private CPU random generator: draws from it leave the global generator (and so any seeded run's noise)
   * untouched.
   */
  public static org.bytedeco.pytorch.Generator generator(long seed) {
    return torch.createCPUGenerator(seed);
  }

  /** float32 samples of normal(mean, std) of the given shape, drawn on the CPU from {@code gen}. */
  public static Tensor normal(double mean, double std, long[] shape, org.bytedeco.pytorch.Generator gen) {
    return torch.normal(mean, std, shape, new org.bytedeco.pytorch.GeneratorOptional(gen),
        new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Float));
  }
}
