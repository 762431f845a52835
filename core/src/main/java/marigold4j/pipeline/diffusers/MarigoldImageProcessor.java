package marigold4j.pipeline.diffusers;

import java.util.Arrays;
import java.util.List;
import marigold4j.image.Resize.Interpolation;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The tensor half of diffusers 0.33.1's {@code MarigoldImageProcessor}: canonical input images, the resize to the
 * processing resolution, the padding to the VAE's stride and back, the output resize. Its visualisers are in
 * {@link MarigoldVisuals}.
 */
public final class MarigoldImageProcessor {
  private MarigoldImageProcessor() {}

  /**
   * The preprocessed batch: {@code image} (N, 3, PPH, PPW) in [-1, 1] (bicubic may overshoot), resized and padded;
   * {@code padH} / {@code padW} the replicate padding added at the bottom / right; {@code height} / {@code width} the
   * inputs' size.
   */
  public record Preprocessed(Tensor image, int padH, int padW, int height, int width) {}

  /**
   * {@code load_image_canonical} for decoded images: uint8 (H, W) or (H, W, C) as numpy / PIL hands them over, or
   * float (N, C, H, W) / (C, H, W) / (H, W) tensors in [0, 1]. Returns float32 (N, 3, H, W) in [0, 1]; one channel is
   * repeated to three.
   *
   * @throws IllegalArgumentException for anything else, with diffusers' reasons (e.g. a 4-channel image)
   */
  public static Tensor canonical(Tensor image, String what) {
    long[] s = Tensors.shape(image);
    torch.ScalarType dtype = Tensors.dtype(image);
    Tensor nchw;
    if (dtype == torch.ScalarType.Byte) {
      // numpy layout: (H, W) or (H, W, C), scaled by the dtype's maximum
      if (s.length == 2) {
        nchw = image.reshape(1, s[0], s[1], 1).permute(0, 3, 1, 2);
      } else if (s.length == 3) {
        nchw = image.unsqueeze(0).permute(0, 3, 1, 2);
      } else if (s.length == 4) {
        nchw = image.permute(0, 3, 1, 2);
      } else {
        throw new IllegalArgumentException(what + ": input image is not 2-, 3-, or 4-dimensional: "
            + Arrays.toString(s));
      }
      nchw = nchw.to(torch.ScalarType.Float).div(F.s(255.0));
    } else if (dtype == torch.ScalarType.Float || dtype == torch.ScalarType.Double || dtype == torch.ScalarType.Half
        || dtype == torch.ScalarType.BFloat16) {
      if (s.length == 2) {
        nchw = image.reshape(1, 1, s[0], s[1]);
      } else if (s.length == 3) {
        nchw = image.unsqueeze(0);
      } else if (s.length == 4) {
        nchw = image;
      } else {
        throw new IllegalArgumentException(what + ": input image is not 2-, 3-, or 4-dimensional: "
            + Arrays.toString(s));
      }
      nchw = nchw.to(torch.ScalarType.Float);
      double min = nchw.min().item_double();
      double max = nchw.max().item_double();
      if (min < 0 || max > 1) {
        throw new IllegalArgumentException(what + ": input image data is partially outside of the [0,1] range ("
            + min + " .. " + max + ")");
      }
    } else {
      throw new IllegalArgumentException(what + ": image dtype " + dtype + " is not supported (uint8 or float)");
    }
    long c = nchw.size(1);
    if (c == 1) nchw = nchw.repeat(1, 3, 1, 1);
    if (nchw.size(1) != 3) {
      throw new IllegalArgumentException(what + ": input image is not 1- or 3-channel: " + c
          + " channels (convert RGBA / grey-alpha images to RGB first)");
    }
    return nchw.contiguous();
  }

  /**
   * {@code preprocess}: concatenates canonical images of one size, maps [0, 1] to [-1, 1], resizes to
   * {@code processingResolution} on the long edge (0: native), pads to a multiple of {@code align}.
   */
  public static Preprocessed preprocess(List<Tensor> canonicalImages, int processingResolution,
      Interpolation mode, int align) {
    Tensor first = canonicalImages.get(0);
    for (int i = 1; i < canonicalImages.size(); i++) {
      Tensor img = canonicalImages.get(i);
      if (img.size(2) != first.size(2) || img.size(3) != first.size(3)) {
        throw new IllegalArgumentException("input image[" + i + "] has dimensions " + img.size(3) + "x" + img.size(2)
            + ", incompatible with the previous images' " + first.size(3) + "x" + first.size(2));
      }
    }
    Tensor image = canonicalImages.size() == 1 ? first : F.cat(0, canonicalImages);
    int h = (int) image.size(2);
    int w = (int) image.size(3);
    image = image.mul(F.s(2.0)).sub(F.s(1.0));
    if (processingResolution > 0) image = resizeToMaxEdge(image, processingResolution, mode);
    int ph = Math.floorMod(-(int) image.size(2), align);
    int pw = Math.floorMod(-(int) image.size(3), align);
    if (ph > 0 || pw > 0) image = F.padReplicate(image, 0, pw, 0, ph);
    return new Preprocessed(image, ph, pw, h, w);
  }

  /** The size {@code resize_to_max_edge} picks: {@code h * edge // max(h, w)}, {@code w * edge // max(h, w)}. */
  public static int[] maxEdgeSize(int h, int w, int maxEdge) {
    int max = Math.max(h, w);
    int nh = (int) ((long) h * maxEdge / max);
    int nw = (int) ((long) w * maxEdge / max);
    if (nh == 0 || nw == 0) {
      throw new IllegalArgumentException("extreme aspect ratio of the input image: " + w + " x " + h);
    }
    return new int[] {nh, nw};
  }

  /** {@code resize_to_max_edge}: antialiased for bilinear / bicubic. */
  public static Tensor resizeToMaxEdge(Tensor image, int maxEdge, Interpolation mode) {
    int[] hw = maxEdgeSize((int) image.size(2), (int) image.size(3), maxEdge);
    return resize(image, hw[0], hw[1], mode, true);
  }

  /** {@code resize_antialias}: {@code F.interpolate(image, size, mode, antialias=aa and mode in (bilinear, bicubic))}. */
  public static Tensor resize(Tensor image, long h, long w, Interpolation mode, boolean antialias) {
    boolean aa = antialias && (mode == Interpolation.BILINEAR || mode == Interpolation.BICUBIC);
    return F.interpolate(image, h, w, mode.mode(), aa);
  }

  /** {@code unpad_image}: drops the padding added by {@link #preprocess}. */
  public static Tensor unpad(Tensor image, int padH, int padW) {
    long h = image.size(2) - padH;
    long w = image.size(3) - padW;
    return image.narrow(2, 0, h).narrow(3, 0, w);
  }
}
