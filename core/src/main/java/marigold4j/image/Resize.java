package marigold4j.image;

import java.util.Arrays;
import java.util.Locale;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * torchvision's {@code transforms.functional.resize} on tensors with the rules of torchvision 0.17 (the seed's pin),
 * and Marigold's {@code resize_max_res}.
 *
 * <p>Integer images are resized in float32, bicubic results are clamped to [0, 255], and the result is rounded half to
 * even before the cast back; float32/float64 images are resized in their own precision. Antialiasing applies only to
 * bilinear and bicubic (torchvision drops it for nearest modes); antialiased kernels are PIL-style and are stretched by
 * the scale when downsampling (bicubic then uses a = -0.5, also when upsampling).
 */
public final class Resize {
  private Resize() {}

  /** torchvision's {@code InterpolationMode}s that the seed uses. */
  public enum Interpolation {
    BILINEAR, BICUBIC, NEAREST_EXACT, NEAREST,
    /** Adaptive average pooling ({@code F.interpolate(mode="area")}); diffusers' Marigold pipelines accept it. */
    AREA;

    /**
     * torch's {@code F.interpolate} mode names, as diffusers' Marigold pipelines take them: {@code nearest} is
     * torch's legacy nearest (floor(dst * in / out)), {@code nearest-exact}, {@code bilinear}, {@code bicubic},
     * {@code area}.
     */
    public static Interpolation fromTorchName(String name) {
      return switch (name.toLowerCase(Locale.ROOT)) {
        case "bilinear" -> BILINEAR;
        case "bicubic" -> BICUBIC;
        case "nearest" -> NEAREST;
        case "nearest-exact", "nearest_exact" -> NEAREST_EXACT;
        case "area" -> AREA;
        default -> throw new IllegalArgumentException("Unknown resampling method: " + name
            + " (use nearest, nearest-exact, bilinear, bicubic or area)");
      };
    }

    /** The torch mode name ({@code nearest-exact}, ...). */
    public String torchName() {
      return this == NEAREST_EXACT ? "nearest-exact" : name().toLowerCase(Locale.ROOT);
    }

    /**
     * Marigold's {@code get_tv_resample_method}: {@code bilinear}, {@code bicubic}, and {@code nearest} meaning
     * {@code NEAREST_EXACT}.
     */
    public static Interpolation fromMarigoldName(String name) {
      return switch (name.toLowerCase(Locale.ROOT)) {
        case "bilinear" -> BILINEAR;
        case "bicubic" -> BICUBIC;
        case "nearest", "nearest-exact" -> NEAREST_EXACT;
        default -> throw new IllegalArgumentException("Unknown resampling method: " + name
            + " (use bilinear, bicubic or nearest)");
      };
    }

    /**
     * A {@code --resample-method} value as Marigold's run.py reads it ({@link #fromMarigoldName}), or null for a name
     * only torch's modes know ({@code area}, {@code nearest-exact} spelled with an underscore): commands that serve
     * both families take either. A name neither knows fails with the full list.
     */
    public static Interpolation fromMarigoldNameOrNull(String name) {
      try {
        return fromMarigoldName(name);
      } catch (IllegalArgumentException e) {
        fromTorchName(name);                               // a typo fails here, with the full list
        return null;
      }
    }

    /** The engine's interpolation mode. */
    public F.Mode mode() {
      return switch (this) {
        case BILINEAR -> F.Mode.BILINEAR;
        case BICUBIC -> F.Mode.BICUBIC;
        case NEAREST_EXACT -> F.Mode.NEAREST_EXACT;
        case NEAREST -> F.Mode.NEAREST;
        case AREA -> F.Mode.AREA;
      };
    }

    boolean supportsAntialias() {
      return this == BILINEAR || this == BICUBIC;
    }
  }

  /**
   * {@code torchvision.transforms.functional.resize(img, [height, width], mode, antialias=antialias)}.
   *
   * @param img (..., C, H, W), any dtype; at least 3 dimensions are not required (an (H, W) map works too)
   * @return the same dtype and leading dimensions, spatial size (height, width)
   */
  public static Tensor resize(Tensor img, long height, long width, Interpolation mode, boolean antialias) {
    long[] shape = Tensors.shape(img);
    if (shape.length < 2) throw new IllegalArgumentException("need (..., H, W), got " + Arrays.toString(shape));
    if (mode == Interpolation.NEAREST_EXACT) return nearestExact(img, height, width);
    torch.ScalarType dtype = Tensors.dtype(img);
    boolean isFloat = dtype == torch.ScalarType.Float || dtype == torch.ScalarType.Double;
    // interpolate wants (N, C, H, W): fold every leading dimension into one
    long lead = 1;
    for (int i = 0; i < shape.length - 2; i++) lead *= shape[i];
    Tensor x = img.reshape(lead, 1, shape[shape.length - 2], shape[shape.length - 1]); // (N, 1, H, W)
    if (!isFloat) x = x.to(torch.ScalarType.Float);
    Tensor y = F.interpolate(x, height, width, mode.mode(), antialias && mode.supportsAntialias());
    if (!isFloat) {
      if (mode == Interpolation.BICUBIC && dtype == torch.ScalarType.Byte) y = F.clamp(y, 0, 255);
      if (isIntegral(dtype)) y = y.round(); // half to even
      y = y.to(dtype);
    }
    long[] outShape = shape.clone();
    outShape[shape.length - 2] = height;
    outShape[shape.length - 1] = width;
    return y.reshape(outShape);
  }

  /**
   * Marigold's {@code resize_max_res}: scale = min(res / W, res / H), new size = {@code int(W * scale)},
   * {@code int(H * scale)} (truncated), resized with {@code antialias=True}. Images smaller than {@code maxEdge} are
   * upscaled. {@code maxEdge} 0 means "native resolution" and returns the input unchanged.
   *
   * @param img (..., H, W)
   */
  public static Tensor resizeMaxRes(Tensor img, int maxEdge, Interpolation mode) {
    if (maxEdge == 0) return img;
    if (maxEdge < 0) throw new IllegalArgumentException("processing resolution must be >= 0, got " + maxEdge);
    long[] shape = Tensors.shape(img);
    long[] hw = maxResSize(shape[shape.length - 2], shape[shape.length - 1], maxEdge);
    return resize(img, hw[0], hw[1], mode, true);
  }

  /** The (height, width) that {@code resize_max_res} picks for an image of the given size. */
  public static long[] maxResSize(long height, long width, int maxEdge) {
    double scale = Math.min((double) maxEdge / width, (double) maxEdge / height);
    return new long[] {(long) (height * scale), (long) (width * scale)};
  }

  /**
   * torch's {@code nearest-exact}: source index {@code min(floor((dst + 0.5) * (in / out)), in - 1)} with the scale in
   * float32, as ATen computes it. Done with index_select because libtorch's C++ interpolate warns about
   * align_corners on every nearest-exact call; values are copied, so the dtype round trip torchvision makes is moot.
   */
  private static Tensor nearestExact(Tensor img, long height, long width) {
    long[] shape = Tensors.shape(img);
    int hDim = shape.length - 2;
    Tensor rows = nearestExactIndex(shape[hDim], height).to(img.device(), torch.ScalarType.Long);
    Tensor cols = nearestExactIndex(shape[hDim + 1], width).to(img.device(), torch.ScalarType.Long);
    return img.index_select(hDim, rows).index_select(hDim + 1, cols);
  }

  static Tensor nearestExactIndex(long in, long out) {
    float scale = (float) in / out;
    long[] idx = new long[Math.toIntExact(out)];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = Math.min((long) Math.floor((float) ((i + 0.5) * scale)), in - 1);
    }
    return Tensors.fromLongs(idx, idx.length);
  }

  private static boolean isIntegral(torch.ScalarType t) {
    return t == torch.ScalarType.Byte || t == torch.ScalarType.Char || t == torch.ScalarType.Short
        || t == torch.ScalarType.Int || t == torch.ScalarType.Long;
  }
}
