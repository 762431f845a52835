package marigold4j.train.data;

/**
 * Source indices of {@code torch.nn.Upsample(scale_factor=s, mode="nearest")} along one axis, as torch's CPU kernel
 * computes them from the given scale factor (not from the sizes): {@code min(floor(i * float(1 / s)), in - 1)} in
 * float32. Marigold's depth evaluation (its {@code alignment_max_res}) resizes with it.
 */
public final class TorchNearest {
  private TorchNearest() {}

  /** Output length {@code floor(in * s)} (as {@code F.interpolate} computes it) and each output's source index. */
  public static int[] sourceIndices(int inLength, double scaleFactor) {
    int outLength = (int) Math.floor(inLength * scaleFactor);
    if (outLength == inLength) {
      int[] id = new int[outLength];
      for (int i = 0; i < outLength; i++) id[i] = i;
      return id;
    }
    if (outLength == 2 * inLength) {
      int[] half = new int[outLength];
      for (int i = 0; i < outLength; i++) half[i] = i >> 1;
      return half;
    }
    float scale = (float) (1.0 / scaleFactor);
    int[] idx = new int[outLength];
    for (int i = 0; i < outLength; i++) {
      idx[i] = Math.min((int) Math.floor((float) i * scale), inLength - 1);
    }
    return idx;
  }
}
