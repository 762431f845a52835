package marigold4j.image;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.ImageInputStream;
import org.bytedeco.pytorch.Tensor;
import org.w3c.dom.Node;

/**
 * Reads PNG and JPEG files with {@code javax.imageio} into what PIL's {@code Image.open} would hold: the mode and the
 * raw 8-bit samples, with no colour management (PIL applies none either: gamma and ICC chunks are ignored).
 *
 * <p>Mode mapping, following Pillow's PNG plugin: grey 8-bit is {@code L}, grey 1/2/4-bit are {@code 1} / {@code L}
 * scaled to 0..255, grey 16-bit is {@code I}, grey+alpha {@code LA}, truecolour {@code RGB}, truecolour+alpha
 * {@code RGBA} (16-bit samples keep their high byte), palette {@code P}. A {@code tRNS} transparent colour on a grey or
 * truecolour image does not change the mode (PIL keeps it as {@code info["transparency"]}).
 */
public final class ImageInput {
  private ImageInput() {}

  /** {@code Image.open(file).convert("RGB")} as a uint8 (3, H, W) tensor. */
  public static Tensor readRgb(Path file) {
    return read(file).toRgbChw();
  }

  /**
   * An in-memory image as a uint8 (3, H, W) RGB tensor, alpha dropped without compositing (PIL's
   * {@code convert("RGB")}).
   */
  public static Tensor rgbFromBufferedImage(java.awt.image.BufferedImage image) {
    int w = image.getWidth();
    int h = image.getHeight();
    byte[] chw = new byte[3 * w * h];
    int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
    for (int i = 0; i < argb.length; i++) {
      chw[i] = (byte) (argb[i] >> 16);
      chw[w * h + i] = (byte) (argb[i] >> 8);
      chw[2 * w * h + i] = (byte) argb[i];
    }
    return marigold4j.torch.Tensors.fromBytes(chw, 3, h, w);
  }

  /**
   * Decodes a file as PIL opens it.
   *
   * @throws ImageReadException naming the file when it is missing, not a supported image, or truncated
   */
  public static PilImage read(Path file) {
    ImageReadException.requireRegularFile(file);
    try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
      return read(in, file, java.nio.file.Files.size(file));
    } catch (IOException e) {
      throw new ImageReadException(file, "cannot open: " + e.getMessage(), e);
    }
  }

  /**
   * Decodes an image held in memory (an upload) exactly as {@link #read(Path)} decodes a file.
   *
   * @param name how error messages name the image (it is never opened)
   * @throws ImageReadException naming {@code name} when the bytes are not a supported, complete image
   */
  public static PilImage read(byte[] data, String name) {
    Path label = Path.of(name);
    // a memory-cached stream: ImageIO's default would spool the upload to a temporary file
    try (ImageInputStream in = new javax.imageio.stream.MemoryCacheImageInputStream(
        new java.io.ByteArrayInputStream(data))) {
      return read(in, label, data.length);
    } catch (IOException e) {
      throw new ImageReadException(label, "cannot open: " + e.getMessage(), e);
    }
  }

  /**
   * PIL's decompression-bomb limit ({@code Image.MAX_IMAGE_PIXELS} x 2): PIL refuses larger images with
   * {@code DecompressionBombError}.
   */
  static final long MAX_PIXELS = 2L * 89_478_485;

  private static PilImage read(ImageInputStream in, Path file, long length) {
    try {
      if (in == null) throw new ImageReadException(file, "cannot open");
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) throw new ImageReadException(file, "not a supported image file (PNG or JPEG expected)");
      ImageReader reader = readers.next();
      List<String> warnings = new ArrayList<>();
      reader.addIIOReadWarningListener(warningsTo(warnings));
      try {
        reader.setInput(in, true, false);
        String format = reader.getFormatName().toLowerCase(java.util.Locale.ROOT);
        checkDeclaredSize(file, format, reader, length);
        BufferedImage image = reader.read(0);
        // The JPEG decoder reports a truncated stream only as a warning and fills the rest with grey; PIL refuses.
        if (!warnings.isEmpty()) throw new ImageReadException(file, "corrupt or truncated image: " + warnings.get(0));
        String pngColorType = null;
        int pngBitDepth = 8;
        if (format.equals("png")) {
          Node ihdr = ihdr(reader.getImageMetadata(0));
          if (ihdr != null) {
            pngColorType = attribute(ihdr, "colorType");
            pngBitDepth = Integer.parseInt(attribute(ihdr, "bitDepth"));
          }
        }
        return convert(file, image, pngColorType, pngBitDepth);
      } finally {
        reader.dispose();
      }
    } catch (ImageReadException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw new ImageReadException(file, "cannot decode image (corrupt, truncated or unsupported): " + e.getMessage(),
          e);
    }
  }

  /**
   * Refuses, from the header alone, an image whose declared size the file cannot hold: the decoders allocate the
   * whole raster before reading any pixel, so a few bytes declaring 40000 x 40000 would take gigabytes. The bounds
   * are those of the codecs: a PNG's rows (a filter byte plus the packed samples) inflate at most 1032:1 from its
   * bytes; every 8 x 8 block of a JPEG's full-resolution component costs at least one bit; other formats get the
   * densest PNG's bound (1-bit samples, 8 x 1032 pixels per byte). PIL's decompression-bomb limit applies on top.
   */
  private static void checkDeclaredSize(Path file, String format, ImageReader reader, long length) throws IOException {
    long w = reader.getWidth(0);
    long h = reader.getHeight(0);
    if (w < 1 || h < 1) throw new ImageReadException(file, "empty image (" + w + " x " + h + ")");
    if (w * h > MAX_PIXELS) {
      throw new ImageReadException(file, w + " x " + h + " pixels is more than " + MAX_PIXELS
          + " (PIL's decompression-bomb limit)");
    }
    boolean fits;
    if (format.equals("png")) {
      Node ihdr = ihdr(reader.getImageMetadata(0));
      int bitsPerPixel = ihdr == null ? 1 : pngBitsPerPixel(attribute(ihdr, "colorType"), attribute(ihdr, "bitDepth"));
      fits = h * (1 + (w * bitsPerPixel + 7) / 8) <= 1032 * length;
    } else if (format.equals("jpeg")) {
      fits = ((w + 7) / 8) * ((h + 7) / 8) <= 8 * length;
    } else {
      fits = w * h <= 8 * 1032 * length;
    }
    if (!fits) {
      throw new ImageReadException(file, "corrupt or truncated image: its header declares " + w + " x " + h
          + " pixels, more than its " + length + " bytes can encode");
    }
  }

  /** Bits per pixel of a PNG colour type and bit depth (1 when unknown: the most lenient bound). */
  private static int pngBitsPerPixel(String colorType, String bitDepth) {
    int depth;
    try {
      depth = Integer.parseInt(bitDepth);
    } catch (NumberFormatException | NullPointerException e) {
      return 1;
    }
    int samples = colorType == null ? 1 : switch (colorType) {
      case "GrayAlpha" -> 2;
      case "RGB" -> 3;
      case "RGBAlpha" -> 4;
      default -> 1;                                     // Grayscale, Palette
    };
    return Math.max(1, depth * samples);
  }

  private static PilImage convert(Path file, BufferedImage image, String pngColorType, int bitDepth) {
    int w = image.getWidth();
    int h = image.getHeight();
    Raster raster = image.getRaster();
    ColorModel cm = image.getColorModel();
    int rasterBands = raster.getNumBands();
    if (cm instanceof IndexColorModel icm && (pngColorType == null || pngColorType.equals("Palette"))) {
      return expandPalette(w, h, raster, icm);
    }
    if (cm instanceof IndexColorModel icm) {
      // low-bit-depth grey: javax gives a grey ramp palette, PIL gives "1" or an L image scaled to 0..255
      PilImage grey = expandPalette(w, h, raster, icm);
      byte[] l = new byte[w * h];
      for (int i = 0; i < l.length; i++) l[i] = grey.pixels()[3 * i];
      return new PilImage(bitDepth == 1 ? PilImage.Mode.BILEVEL : PilImage.Mode.L, w, h, l);
    }
    PilImage.Mode mode;
    if (pngColorType != null) {
      mode = switch (pngColorType) {
        case "Grayscale" -> bitDepth == 16 ? PilImage.Mode.I : PilImage.Mode.L;
        case "GrayAlpha" -> PilImage.Mode.LA;
        case "RGB" -> PilImage.Mode.RGB;
        case "RGBAlpha" -> PilImage.Mode.RGBA;
        default -> throw new ImageReadException(file, "unsupported PNG colour type " + pngColorType);
      };
    } else {
      mode = switch (rasterBands) {
        case 1 -> PilImage.Mode.L;
        case 3 -> PilImage.Mode.RGB;
        default -> throw new ImageReadException(file, "unsupported image layout: " + rasterBands + " channels ("
            + cm.getColorSpace().getType() + " colour space; CMYK JPEGs are not supported)");
      };
    }
    if (rasterBands < mode.bands()) {
      throw new ImageReadException(file, "decoder gave " + rasterBands + " channels for mode " + mode.pilName());
    }
    int sampleBits = cm.getComponentSize(0);
    int bands = mode.bands();
    byte[] out = new byte[w * h * bands];
    int[] row = new int[w];
    for (int b = 0; b < bands; b++) {
      for (int y = 0; y < h; y++) {
        raster.getSamples(0, y, w, 1, b, row);
        for (int x = 0; x < w; x++) {
          int v = row[x];
          if (sampleBits > 8) {
            // PIL: 16-bit grey becomes mode I and convert("RGB") clips it at 255; other 16-bit modes keep the high byte
            v = mode == PilImage.Mode.I ? Math.min(v, 255) : v >>> (sampleBits - 8);
          }
          out[(y * w + x) * bands + b] = (byte) v;
        }
      }
    }
    return new PilImage(mode, w, h, out);
  }

  private static PilImage expandPalette(int w, int h, Raster raster, IndexColorModel icm) {
    byte[] out = new byte[w * h * 3];
    int[] row = new int[w];
    int size = icm.getMapSize();
    for (int y = 0; y < h; y++) {
      raster.getSamples(0, y, w, 1, 0, row);
      for (int x = 0; x < w; x++) {
        int idx = Math.min(row[x], size - 1);
        int o = (y * w + x) * 3;
        out[o] = (byte) icm.getRed(idx);
        out[o + 1] = (byte) icm.getGreen(idx);
        out[o + 2] = (byte) icm.getBlue(idx);
      }
    }
    return new PilImage(PilImage.Mode.P, w, h, out);
  }

  private static Node ihdr(IIOMetadata meta) {
    if (meta == null || !"javax_imageio_png_1.0".equals(meta.getNativeMetadataFormatName())) return null;
    Node root = meta.getAsTree("javax_imageio_png_1.0");
    for (Node n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n.getNodeName().equals("IHDR")) return n;
    }
    return null;
  }

  private static String attribute(Node node, String name) {
    Node a = node.getAttributes().getNamedItem(name);
    return a == null ? null : a.getNodeValue();
  }

  private static IIOReadWarningListener warningsTo(List<String> sink) {
    return (source, warning) -> sink.add(warning);
  }
}
