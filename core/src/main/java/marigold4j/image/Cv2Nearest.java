package marigold4j.image;

import java.util.Arrays;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * OpenCV's {@code cv2.resize(img, (W, H), interpolation=cv2.INTER_NEAREST)} (4.x {@code resizeNN}), as GeoWizard
 * resizes normal maps: source index {@code min(floor(dst * (1 / (out / in))), in - 1)} in double precision. Note that
 * this is not torch's {@code nearest-exact} (no half-pixel offset).
 */
public final class Cv2Nearest {
  private Cv2Nearest() {}

  /**
   * Resizes an (H, W) or (H, W, C) tensor of any dtype.
   *
   * @param width the new width (OpenCV's dsize is (width, height))
   */
  public static Tensor resize(Tensor hwc, int width, int height) {
    long[] s = Tensors.shape(hwc);
    if (s.length != 2 && s.length != 3) throw new IllegalArgumentException("expected (H, W) or (H, W, C), got "
        + Arrays.toString(s));
    Tensor rows = index(s[0], height).to(hwc.device(), torch.ScalarType.Long);
    Tensor cols = index(s[1], width).to(hwc.device(), torch.ScalarType.Long);
    return hwc.index_select(0, rows).index_select(1, cols);
  }

  /** The source index of every destination index along one axis. */
  static Tensor index(long in, long out) {
    double inv = 1.0 / ((double) out / in);
    long[] idx = new long[Math.toIntExact(out)];
    for (int i = 0; i < idx.length; i++) idx[i] = Math.min((long) Math.floor(i * inv), in - 1);
    return Tensors.fromLongs(idx, idx.length);
  }
}
