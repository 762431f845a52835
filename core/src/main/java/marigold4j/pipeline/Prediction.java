package marigold4j.pipeline;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import marigold4j.image.Npy;
import marigold4j.image.Png16;
import marigold4j.image.RgbPng;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/**
 * The result of one Marigold call, held in Java arrays (no native memory): the prediction, its colourised
 * visualisation and, when ensembling depth, the uncertainty.
 *
 * <p>Depth is (H, W) in [0, 1]; normals are (3, H, W) unit vectors in [-1, 1] (channel-first, as run.py saves them).
 */
public final class Prediction {
  private final Modality modality;
  private final int height;
  private final int width;
  private final float[] values;
  private final byte[] coloredHwc;
  private final float[] uncertainty;
  private final int[] uncertaintyShape;

  /**
   * A prediction from its arrays (for families outside this package).
   *
   * @param values C order, (H, W) for one-channel maps, (3, H, W) for three
   * @param coloredHwc the visualisation (H, W, 3), or null
   * @param uncertainty the uncertainty, or null
   * @param uncertaintyShape its shape ({H, W} or {C, H, W}), or null
   */
  public static Prediction of(Modality modality, int height, int width, float[] values, byte[] coloredHwc,
      float[] uncertainty, int[] uncertaintyShape) {
    if (values.length != modality.channels() * height * width) {
      throw new IllegalArgumentException(values.length + " values for a " + modality.channels() + "-channel "
          + height + "x" + width + " map");
    }
    return new Prediction(modality, height, width, values, coloredHwc, uncertainty, uncertaintyShape);
  }

  Prediction(Modality modality, int height, int width, float[] values, byte[] coloredHwc, float[] uncertainty,
      int[] uncertaintyShape) {
    this.modality = modality;
    this.height = height;
    this.width = width;
    this.values = values;
    this.coloredHwc = coloredHwc;
    this.uncertainty = uncertainty;
    this.uncertaintyShape = uncertaintyShape;
  }

  public Modality modality() {
    return modality;
  }

  public int height() {
    return height;
  }

  public int width() {
    return width;
  }

  /** The raw prediction in C order: depth (H, W) in [0, 1], or normals (3, H, W). A copy. */
  public float[] values() {
    return values.clone();
  }

  /** Channels of the map: 1 (depth, scalar targets) or 3 (normals, colour targets). */
  public int channels() {
    return modality.channels();
  }

  /** A three-channel map in (H, W, 3) C order (GeoWizard's and diffusers' layout). A new array. */
  public float[] valuesHwc() {
    if (channels() != 3) throw new IllegalStateException("a " + modality.cliName() + " prediction has one channel");
    return chwToHwc(values, 3);
  }

  /** (C, H, W) values in C order as (H, W, C): a new array. */
  public static float[] chwToHwc(float[] chw, int channels) {
    int plane = chw.length / channels;
    float[] hwc = new float[chw.length];
    for (int c = 0; c < channels; c++) {
      for (int i = 0; i < plane; i++) hwc[channels * i + c] = chw[c * plane + i];
    }
    return hwc;
  }

  /** How many values are NaN or infinite (no copy of the values is made). */
  public long nonFiniteCount() {
    long bad = 0;
    for (float x : values) if (!Float.isFinite(x)) bad++;
    return bad;
  }

  /** The number of values: H x W for depth, 3 x H x W for normals. */
  public int numel() {
    return values.length;
  }

  /** The prediction's shape: {H, W} for depth, {3, H, W} for normals. */
  public long[] shape() {
    return channels() == 1 ? new long[] {height, width} : new long[] {3, height, width};
  }

  /** The prediction as a new CPU float32 tensor (owned by the caller). */
  public Tensor toTensor() {
    return Tensors.fromFloats(values, shape());
  }

  /**
   * Depth as the 16-bit PNG stores it: {@code (d * 65535).astype(uint16)}, row-major. Values outside [0, 1] (only
   * diffusers' bicubic output resize makes them) wrap modulo 2^16 as numpy's cast does on x86.
   */
  public int[] depth16() {
    requireDepth();
    return marigold4j.pipeline.diffusers.MarigoldVisuals.depth16(values, 0, 1);
  }

  /** The colourised visualisation as interleaved RGB bytes (H, W, 3), or null when no colormap was requested. */
  public byte[] coloredRgb() {
    return coloredHwc == null ? null : coloredHwc.clone();
  }

  /** The colourised visualisation as an image, or null when no colormap was requested. */
  public BufferedImage coloredImage() {
    if (coloredHwc == null) return null;
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    for (int i = 0; i < width * height; i++) {
      int rgb = (coloredHwc[3 * i] & 0xff) << 16 | (coloredHwc[3 * i + 1] & 0xff) << 8 | (coloredHwc[3 * i + 2] & 0xff);
      img.setRGB(i % width, i / width, rgb);
    }
    return img;
  }

  /** The depth as a 16-bit greyscale image (the {@code depth_bw} PNG). */
  public BufferedImage depth16Image() {
    int[] v = depth16();
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_USHORT_GRAY);
    img.getRaster().setPixels(0, 0, width, height, v);
    return img;
  }

  /** The ensemble's uncertainty (MAD, at the processing resolution), or null without depth ensembling. */
  public float[] uncertainty() {
    return uncertainty == null ? null : uncertainty.clone();
  }

  /** The shape of {@link #uncertainty()} ({H, W}, or {C, H, W} for three-channel uncertainty), or null. */
  public int[] uncertaintyShape() {
    return uncertaintyShape == null ? null : uncertaintyShape.clone();
  }

  /**
   * Writes the files run.py writes, each atomically: depth: {@code depth_npy/<name>_pred.npy} (float32 H x W),
   * {@code depth_bw/<name>_pred.png} (16-bit), {@code depth_colored/<name>_pred_colored.png}; normals:
   * {@code normal_npy/<name>_pred.npy} (float32 3 x H x W), {@code normal_colored/<name>_pred_colored.png}.
   */
  public void save(Path outputDir, String name) {
    Npy.write(RunPyFiles.npy(outputDir, modality, name), Npy.Array.ofFloats(values, shape()));
    if (modality == Modality.DEPTH) {
      Png16.writeValues(RunPyFiles.png16(outputDir, name), depth16(), width, height);
      if (coloredHwc == null) return;
    }
    RgbPng.writeHwc(RunPyFiles.colored(outputDir, modality, name), coloredHwc, width, height);
  }

  private void requireDepth() {
    if (modality != Modality.DEPTH) throw new IllegalStateException("not a depth prediction");
  }
}
