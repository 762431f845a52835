package marigold4j.torch;

import java.util.Arrays;
import java.util.Locale;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/** Conversions between tensors and Java arrays, and readable descriptions of tensors. */
public final class Tensors {
  private Tensors() {}

  /**
   * The tensor's dtype as the canonical enum constant. {@code Tensor.scalar_type()} returns a fresh enum instance
   * that is never {@code ==} to {@code torch.ScalarType.Float} and friends; {@code intern()} maps it back.
   */
  public static torch.ScalarType dtype(Tensor t) {
    return t.scalar_type().intern();
  }

  /** Whether {@code t} holds 16-bit floats (bf16 or fp16), the dtypes of {@code --half-precision}. */
  public static boolean isHalfPrecision(Tensor t) {
    torch.ScalarType dtype = dtype(t);
    return dtype == torch.ScalarType.BFloat16 || dtype == torch.ScalarType.Half;
  }

  public static long[] shape(Tensor t) {
    return t.sizes().vec().get();
  }

  /** A torch-owned fp32 tensor holding a copy of {@code data}. */
  public static Tensor fromFloats(float[] data, long... shape) {
    Engine.init();
    try (FloatPointer p = new FloatPointer(data)) {
      return torch.from_blob(p, shape, new TensorOptions(torch.ScalarType.Float)).clone();
    }
  }

  /** A torch-owned fp64 tensor holding a copy of {@code data}. */
  public static Tensor fromDoubles(double[] data, long... shape) {
    Engine.init();
    try (DoublePointer p = new DoublePointer(data)) {
      return torch.from_blob(p, shape, new TensorOptions(torch.ScalarType.Double)).clone();
    }
  }

  /** A torch-owned uint8 tensor holding a copy of {@code data}. */
  public static Tensor fromBytes(byte[] data, long... shape) {
    Engine.init();
    try (BytePointer p = new BytePointer(data)) {
      return torch.from_blob(p, shape, new TensorOptions(torch.ScalarType.Byte)).clone();
    }
  }

  /**
   * A torch-owned bool tensor from one byte per element, 0 or 1 (a copy: the bytes are read as uint8 and converted
   * with {@code .to(Bool)}).
   */
  public static Tensor fromBoolBytes(byte[] data, long... shape) {
    Engine.init();
    try (BytePointer p = new BytePointer(data)) {
      return torch.from_blob(p, shape, new TensorOptions(torch.ScalarType.Byte)).to(torch.ScalarType.Bool);
    }
  }

  /**
   * A torch-owned tensor of {@code dtype} holding a copy of {@code data}, its elements' raw bytes in C order and the
   * host's byte order. Empty {@code data} (a shape with a zero dimension) gives {@code torch.zeros(shape, dtype)}.
   */
  public static Tensor fromRawBytes(byte[] data, torch.ScalarType dtype, long... shape) {
    Engine.init();
    TensorOptions opts = new TensorOptions(dtype);
    if (data.length == 0) return torch.zeros(shape, opts);
    try (BytePointer p = new BytePointer(data)) {
      return torch.from_blob(p, shape, opts).clone();
    }
  }

  /** The bytes of a uint8 tensor, in C order. */
  public static byte[] toBytes(Tensor t) {
    Tensor c = t.to(torch.ScalarType.Byte).cpu().contiguous();
    byte[] out = new byte[Math.toIntExact(c.numel())];
    if (out.length > 0) new BytePointer(c.data_ptr()).capacity(out.length).get(out);
    return out;
  }

  /**
   * A dense (contiguous) copy of the view of {@code base} with the given sizes, strides and storage offset (in
   * elements), as {@code base.as_strided(size, stride, offset).clone(memory_format=torch.contiguous_format)}. The
   * view itself is freed at once. The view must lie inside base's storage: as_strided does not check.
   */
  public static Tensor stridedCopy(Tensor base, long[] size, long[] stride, long offset) {
    try (Tensor view = base.as_strided(size, stride, new LongOptional(offset))) {
      return view.clone(new MemoryFormatOptional(torch.MemoryFormat.Contiguous));
    }
  }

  public static Tensor fromLongs(long[] data, long... shape) {
    Engine.init();
    try (LongPointer p = new LongPointer(data)) {
      return torch.from_blob(p, shape, new TensorOptions(torch.ScalarType.Long)).clone();
    }
  }

  /** The values of {@code t} (any float dtype, any device) as fp32, in C order. */
  public static float[] toFloats(Tensor t) {
    Tensor c = t.to(torch.ScalarType.Float).cpu().contiguous();
    float[] out = new float[Math.toIntExact(c.numel())];
    c.data_ptr_float().get(out);
    return out;
  }

  public static long[] toLongs(Tensor t) {
    Tensor c = t.to(torch.ScalarType.Long).cpu().contiguous();
    long[] out = new long[Math.toIntExact(c.numel())];
    c.data_ptr_long().get(out);
    return out;
  }

  /** Largest absolute element-wise difference (shapes must match). */
  public static double maxAbsDiff(Tensor a, Tensor b) {
    if (!Arrays.equals(shape(a), shape(b))) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape(a)) + " vs " + Arrays.toString(shape(b)));
    }
    return a.to(torch.ScalarType.Double).sub(b.to(torch.ScalarType.Double)).abs().max().item_double();
  }

  /** e.g. {@code Float[2, 4, 12, 16] min=-5.48 max=4.85 mean=-0.58}. */
  public static String describe(Tensor t) {
    String dtype = dtype(t).toString();
    String head = dtype + Arrays.toString(shape(t));
    if (t.numel() == 0 || !t.is_floating_point()) return head;
    Tensor d = t.detach().to(torch.ScalarType.Double);
    return head + String.format(Locale.ROOT, " min=%.6g max=%.6g mean=%.6g", d.min().item_double(),
        d.max().item_double(), d.mean().item_double());
  }
}
