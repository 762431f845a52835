package marigold4j.train.data;

import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * One training item as Java arrays, produced on the loader's background threads; tensors are made from it on the
 * consumer's thread (so that they belong to the consumer's {@code PointerScope}).
 *
 * @param rgb (3, H, W) in [-1, 1]
 * @param depth (H, W) normalised depth in [-1, 1] (the item's three depth channels are copies of it)
 * @param metric (H, W) clamped metric depth (m)
 * @param normals (3, H, W) unit normals, zero where invalid
 * @param valid (H, W) valid-depth mask
 * @param validCount number of valid pixels (0: the item carries no supervision)
 * @param source the rgb file it came from
 * @param depthMin the 2 % quantile of the valid depths (NaN without valid pixels)
 * @param depthMax the 98 % quantile of the valid depths
 */
record DecodedItem(float[] rgb, float[] depth, float[] metric, float[] normals, boolean[] valid, int validCount,
    int height, int width, String domain, String source, float depthMin, float depthMax) {

  /** The item as tensors (created in the caller's scope). */
  TrainingItem toItem() {
    int n = height * width;
    byte[] mask = new byte[n];
    for (int i = 0; i < n; i++) mask[i] = (byte) (valid[i] ? 1 : 0);
    Tensor d = Tensors.fromFloats(depth, 1, height, width);
    return new TrainingItem(
        Tensors.fromFloats(rgb, 3, height, width),
        d.expand(3, height, width).contiguous(), // torch.stack([d, d, d]) of the original
        Tensors.fromFloats(metric, 1, height, width),
        Tensors.fromFloats(normals, 3, height, width),
        Tensors.fromBytes(mask, 1, height, width).to(org.bytedeco.pytorch.global.torch.ScalarType.Bool),
        domain);
  }
}
