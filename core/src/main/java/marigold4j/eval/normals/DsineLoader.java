package marigold4j.eval.normals;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * Reads DSINE samples as the original loaders do ({@code DSINE/data/datasets/<id>/__init__.py}): images through
 * OpenCV semantics ({@code imread(IMREAD_UNCHANGED)} then {@code BGR2RGB}), ground-truth normals and masks per
 * dataset, in float32 arithmetic.
 */
public final class DsineLoader {
  private DsineLoader() {}

  /** Decoded samples of a PNG / JPEG file: {@code channels} interleaved values per pixel, row-major, R first. */
  record Samples(int height, int width, int channels, int bitDepth, int[] values) {}

  /**
   * Reads the RGB image of a sample. As with OpenCV, a 4-channel file loses its alpha channel and a palette image
   * is expanded; 1-channel (grayscale) and 16-bit images are refused, as {@code cvtColor(BGR2RGB)} and the
   * {@code / 255} of the loaders would fail or misread them.
   */
  public static Rgb8Image readImage(Path file) {
    Samples s = readSamples(file);
    if (s.channels < 3) {
      throw new IllegalArgumentException(file + ": image has " + s.channels + " channel(s); the DSINE loader needs RGB");
    }
    if (s.bitDepth != 8) throw new IllegalArgumentException(file + ": " + s.bitDepth + "-bit image; expected 8-bit RGB");
    byte[] hwc = new byte[s.height * s.width * 3];
    for (int p = 0; p < s.height * s.width; p++) {
      for (int c = 0; c < 3; c++) hwc[p * 3 + c] = (byte) s.values[p * s.channels + c];
    }
    return new Rgb8Image(s.height, s.width, hwc);
  }

  /** Raw sample values of an image file (8 or 16 bit), colour order R, G, B[, A]. */
  static Samples readSamples(Path file) {
    if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": file not found");
    BufferedImage img;
    try {
      img = ImageIO.read(file.toFile());
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": cannot decode image: " + e.getMessage());
    }
    if (img == null) throw new IllegalArgumentException(file + ": not a readable PNG/JPEG image");
    int w = img.getWidth();
    int h = img.getHeight();
    if (img.getColorModel() instanceof IndexColorModel icm) {
      // palette images: OpenCV expands them to BGR(A); use the palette's colours
      int channels = icm.hasAlpha() ? 4 : 3;
      int[] values = new int[w * h * channels];
      int[] idx = img.getRaster().getSamples(0, 0, w, h, 0, (int[]) null);
      for (int p = 0; p < idx.length; p++) {
        values[p * channels] = icm.getRed(idx[p]);
        values[p * channels + 1] = icm.getGreen(idx[p]);
        values[p * channels + 2] = icm.getBlue(idx[p]);
        if (channels == 4) values[p * channels + 3] = icm.getAlpha(idx[p]);
      }
      return new Samples(h, w, channels, 8, values);
    }
    Raster r = img.getRaster();
    int bands = r.getNumBands();
    int bits = img.getColorModel().getComponentSize(0);
    return new Samples(h, w, bands, bits, r.getPixels(0, 0, w, h, (int[]) null));
  }

  /** Checks the files the original loader asserts to exist: image, ground-truth normals and intrinsics. */
  public static void checkFiles(DsineSample s) {
    for (Path p : new Path[] {s.imagePath(), s.normalPath(), s.intrinsPath()}) {
      if (!Files.isRegularFile(p)) {
        throw new IllegalArgumentException(p + ": missing file of " + s.dataset().id() + " sample " + s.relativePath());
      }
    }
  }

  /** Loads the ground-truth normals and mask of a sample, in the DSINE frame ({@link NormalFrame#LUB}). */
  public static NormalsGroundTruth groundTruth(DsineSample s) {
    checkFiles(s);
    return switch (s.dataset()) {
      case NYUV2, SCANNET -> fromPng(s.normalPath(), 255f);
      case VKITTI -> fromPng(s.normalPath(), 65535f);
      case IBIMS, SINTEL -> fromExr(s.normalPath());
      case OASIS -> {
        Rgb8Image img = readImage(s.imagePath()); // the ROI is pasted into an image-sized canvas
        yield fromOasisPickle(s.normalPath(), img.height(), img.width());
      }
    };
  }

  /** PNG normals: {@code (v / max) * 2 - 1} in float32; valid where the channel sum is positive. */
  static NormalsGroundTruth fromPng(Path file, float max) {
    Samples s = readSamples(file);
    if (s.channels < 3) throw new IllegalArgumentException(file + ": normal map has " + s.channels + " channel(s)");
    int plane = s.height * s.width;
    float[] chw = new float[3 * plane];
    boolean[] mask = new boolean[plane];
    for (int p = 0; p < plane; p++) {
      long sum = 0;
      for (int c = 0; c < 3; c++) {
        int v = s.values[p * s.channels + c];
        sum += v;
        chw[c * plane + p] = ((float) v / max) * 2.0f - 1.0f;
      }
      mask[p] = sum > 0;
    }
    return new NormalsGroundTruth(new NormalMap(s.height, s.width, chw), mask);
  }

  /** EXR normals (R, G, B channels = x, y, z) as stored; valid where the float32 norm exceeds 0.5. */
  static NormalsGroundTruth fromExr(Path file) {
    OpenExr.Image exr = OpenExr.read(file);
    int plane = exr.height() * exr.width();
    float[] chw = new float[3 * plane];
    String[] names = {"R", "G", "B"};
    for (int c = 0; c < 3; c++) System.arraycopy(exr.channel(names[c]), 0, chw, c * plane, plane);
    boolean[] mask = new boolean[plane];
    for (int p = 0; p < plane; p++) {
      float x = chw[p];
      float y = chw[plane + p];
      float z = chw[2 * plane + p];
      float sq = (x * x + y * y) + z * z; // numpy's float32 norm: sum of squares left to right, then sqrt
      mask[p] = (float) Math.sqrt(sq) > 0.5f;
    }
    return new NormalsGroundTruth(new NormalMap(exr.height(), exr.width(), chw), mask);
  }

  /**
   * OASIS: the ROI normals pasted at {@code [min_y:max_y+1, min_x:max_x+1]} of a zero {@code h x w} canvas, cast to
   * float32, then x and y negated (to LUB); valid where an ROI pixel has any non-zero component.
   */
  static NormalsGroundTruth fromOasisPickle(Path file, int h, int w) {
    OasisNormalPickle.Roi roi = OasisNormalPickle.read(file);
    if (roi.minY() < 0 || roi.minX() < 0 || roi.maxY() >= h || roi.maxX() >= w) {
      throw new IllegalArgumentException(file + ": ROI [" + roi.minY() + ":" + roi.maxY() + ", " + roi.minX() + ":"
          + roi.maxX() + "] exceeds the " + h + "x" + w + " image");
    }
    int plane = h * w;
    float[] chw = new float[3 * plane];
    // the loader negates x and y of the whole canvas, so the zeros outside the ROI become -0.0 there
    java.util.Arrays.fill(chw, 0, 2 * plane, -0.0f);
    boolean[] mask = new boolean[plane];
    for (int y = 0; y < roi.rows(); y++) {
      for (int x = 0; x < roi.cols(); x++) {
        int p = (roi.minY() + y) * w + roi.minX() + x;
        int q = (y * roi.cols() + x) * 3;
        boolean any = false;
        for (int c = 0; c < 3; c++) {
          double v = roi.normal()[q + c];
          any |= v != 0;
          float f = (float) v;
          chw[c * plane + p] = c < 2 ? -f : f;
        }
        mask[p] = any;
      }
    }
    return new NormalsGroundTruth(new NormalMap(h, w, chw), mask);
  }
}
