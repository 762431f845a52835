package marigold4j.train.data;

import marigold4j.image.PilResize;

/**
 * The two Pillow 9.4 resizes torchvision's {@code transforms.Resize} applies to the training images: BILINEAR on 8-bit
 * images and NEAREST for the float depth map. The kernels live in {@link PilResize} (one implementation of Pillow's
 * resampling); this class keeps the training code's entry points.
 */
public final class PilResampling {
  private PilResampling() {}

  /** {@link PilResize#bilinear}: {@code image.resize((outW, outH), Image.BILINEAR)} of interleaved 8-bit pixels. */
  public static byte[] bilinear(byte[] hwc, int w, int h, int bands, int outW, int outH) {
    return PilResize.bilinear(hwc, w, h, bands, outW, outH);
  }

  /** {@link PilResize#nearestIndices}: source index of each output index of Pillow's NEAREST along one axis. */
  public static int[] nearestIndices(int in, int out) {
    return PilResize.nearestIndices(in, out);
  }

  /** {@link PilResize#nearest}: {@code image.resize((outW, outH), Image.NEAREST)} of a mode {@code F} image. */
  public static float[] nearest(float[] map, int w, int h, int outW, int outH) {
    return PilResize.nearest(map, w, h, outW, outH);
  }
}
