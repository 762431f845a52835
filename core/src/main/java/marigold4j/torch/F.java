package marigold4j.torch;

import java.util.List;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.GeneratorOptional;
import org.bytedeco.pytorch.InterpolateFuncOptions;
import org.bytedeco.pytorch.InterpolateMode;
import org.bytedeco.pytorch.LayoutOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.LongVector;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
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

  /** A floating-point Scalar (Python's float literal). {@code s(2)} is the double 2.0; see {@link #si(long)}. */
  public static Scalar s(double v) {
    return new Scalar(v);
  }

  /**
   * An integral Scalar (Python's int literal), for the places where the original passes an int: an integer exponent,
   * an arange end, an int64 fill value. Named apart from {@link #s} so that {@code s(2)} keeps meaning 2.0.
   */
  public static Scalar si(long v) {
    return new Scalar(v);
  }

  /** {@link #si(long)} for an int: the binding's {@code Scalar(int)} constructor, as {@code new Scalar(2)} calls. */
  public static Scalar si(int v) {
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

  /** {@code x.clamp(min=lo)}. */
  public static Tensor clampMin(Tensor x, double lo) {
    return x.clamp_min(s(lo));
  }

  /** {@code v - x} (Python's {@code v - tensor}: {@code torch.rsub}). */
  public static Tensor rsub(double v, Tensor x) {
    return x.neg().add(s(v));
  }

  /** {@code 1.0 / x} (Python's {@code __rtruediv__}: {@code x.reciprocal() * 1.0}). */
  public static Tensor reciprocal(Tensor x) {
    return x.reciprocal();
  }

  /** {@code x.argmax(dim, keepdim)}: the first index of the maximum along {@code dim}. */
  public static Tensor argmax(Tensor x, long dim, boolean keepdim) {
    return x.argmax(new LongOptional(dim), keepdim);
  }

  public static Tensor clamp(Tensor x, double lo, double hi) {
    return x.clamp(new ScalarOptional(s(lo)), new ScalarOptional(s(hi)));
  }

  public static Tensor cat(long dim, Tensor... ts) {
    return torch.cat(new TensorVector(ts), dim);
  }

  /** {@code torch.cat(ts, dim)} of a list, in list order. */
  public static Tensor cat(long dim, List<Tensor> ts) {
    return torch.cat(new TensorVector(ts.toArray(new Tensor[0])), dim);
  }

  /** {@code torch.stack(ts, dim)}: the tensors (all of one shape) along a new dimension {@code dim}. */
  public static Tensor stack(long dim, Tensor... ts) {
    return torch.stack(new TensorVector(ts), dim);
  }

  /** {@code x.mean(dims, keepdim)} with no dtype argument (the mean is taken and returned in x's dtype). */
  public static Tensor mean(Tensor x, long[] dims, boolean keepdim) {
    return x.mean(dims, keepdim, new ScalarTypeOptional());
  }

  /**
   * {@code x.sum(dims, keepdim)} with no dtype argument: floating inputs keep their dtype, integer and bool inputs sum
   * to int64, as {@code torch.sum} does.
   */
  public static Tensor sum(Tensor x, long[] dims, boolean keepdim) {
    return x.sum(dims, keepdim, new ScalarTypeOptional());
  }

  /** The L2 norm over {@code dims}: {@code torch.norm(x, p=2, dim=dims, keepdim=keepdim)}, p the double 2.0. */
  public static Tensor norm2(Tensor x, long[] dims, boolean keepdim) {
    return x.norm(new ScalarOptional(s(2)), dims, keepdim);
  }

  /** {@code x.repeat_interleave(repeats, dim)}: every slice along {@code dim} repeated {@code repeats} times. */
  public static Tensor repeatInterleave(Tensor x, long repeats, long dim) {
    return x.repeat_interleave(repeats, new LongOptional(dim), new LongOptional());
  }

  /** {@code torch.empty(shape, dtype=dtype)}: uninitialised, contiguous, on the CPU. */
  public static Tensor empty(long[] shape, torch.ScalarType dtype) {
    return torch.empty(shape, new TensorOptions(dtype), new MemoryFormatOptional());
  }

  /** {@code torch.full(shape, value, dtype=dtype)} on the CPU; {@code value} as given (see {@link #s}, {@link #si}). */
  public static Tensor full(long[] shape, Scalar value, torch.ScalarType dtype) {
    return torch.full(shape, value, new TensorOptions(dtype));
  }

  /** {@code torch.scalar_tensor(value, dtype=dtype)}: a 0-dim CPU tensor. */
  public static Tensor scalarTensor(Scalar value, torch.ScalarType dtype) {
    return torch.scalar_tensor(value, new TensorOptions(dtype));
  }

  /** {@code torch.arange(end, dtype=dtype, device=device)}: 0, 1, ..., end - 1. */
  public static Tensor arange(Scalar end, torch.ScalarType dtype, Device device) {
    return torch.arange(end, new TensorOptions(dtype).device(new DeviceOptional(device)));
  }

  /** {@code torch.arange(start, end, dtype=dtype)} on the CPU. */
  public static Tensor arange(Scalar start, Scalar end, torch.ScalarType dtype) {
    return torch.arange(start, end, new TensorOptions(dtype));
  }

  /** Zero padding of the last two dimensions (torch.nn.functional.pad with (left, right, top, bottom)). */
  public static Tensor pad2d(Tensor x, long left, long right, long top, long bottom) {
    return torch.constant_pad_nd(x, new long[] {left, right, top, bottom}, s(0));
  }

  /** Replicate padding of the last two dimensions (F.pad(x, (left, right, top, bottom), mode="replicate")). */
  public static Tensor padReplicate(Tensor x, long left, long right, long top, long bottom) {
    return torch.replication_pad2d(x, new long[] {left, right, top, bottom});
  }

  /**
   * A private CPU random generator: draws from it leave the global generator (and so any seeded run's noise)
   * untouched.
   */
  public static Generator generator(long seed) {
    return torch.createCPUGenerator(seed);
  }

  /** float32 samples of normal(mean, std) of the given shape, drawn on the CPU from {@code gen}. */
  public static Tensor normal(double mean, double std, long[] shape, Generator gen) {
    return torch.normal(mean, std, shape, new GeneratorOptional(gen), new TensorOptions(torch.ScalarType.Float));
  }

  /**
   * {@code torch.randn(shape, dtype=dtype, device=device)}: standard normal samples from the device's default
   * (global) generator, contiguous, as diffusers' {@code randn_tensor} draws them.
   */
  public static Tensor randn(long[] shape, torch.ScalarType dtype, Device device) {
    return torch.randn(shape, new ScalarTypeOptional(dtype), new LayoutOptional(), new DeviceOptional(device),
        new BoolOptional());
  }

  /** {@code torch.randn(shape, generator=gen, dtype=dtype)}: standard normal samples drawn on the CPU from gen. */
  public static Tensor randn(long[] shape, Generator gen, torch.ScalarType dtype) {
    return torch.randn(shape, new GeneratorOptional(gen), new TensorOptions(dtype));
  }

  /** {@code torch.rand(shape, generator=gen)}: float32 uniform samples in [0, 1) drawn on the CPU from {@code gen}. */
  public static Tensor rand(long[] shape, Generator gen) {
    return torch.rand(shape, new GeneratorOptional(gen));
  }

  /**
   * {@code torch.empty((), dtype=torch.int64).random_(generator=gen)}: one int64 draw, the way DataLoader iterators
   * and samplers draw their seeds. A null {@code gen} draws from the engine's global generator.
   *
   * @return the 0-dim int64 tensor holding the draw
   */
  public static Tensor drawInt64(Generator gen) {
    Tensor t = empty(new long[] {}, torch.ScalarType.Long);
    if (gen == null) {
      t.random_();                      // returns a non-owning alias; hand back the owning object instead
    } else {
      t.random_(new GeneratorOptional(gen));
    }
    return t;
  }
}
