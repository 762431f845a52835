package marigold4j.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import javax.imageio.ImageIO;
import marigold4j.testing.Golden;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Decoding as PIL's {@code Image.open(...).convert("RGB")}. PNG is lossless, so the expected samples come from an
 * independent minimal PNG decoder below (zlib + scanline filters), not from javax.imageio.
 */
class ImageInputTest {
  @TempDir Path tmp;

  @BeforeAll
  static void init() {
    Engine.init();
  }

  private static Path image(String name) {
    return Golden.fixtures().resolve("images").resolve(name);
  }

  @Test
  void rgbaPngKeepsItsAlphaAndConvertDropsItWithoutCompositing() throws Exception {
    Path file = image("synthetic_rgba_80x60.png");
    Decoded ref = decodePng(file);
    assertThat(ref.channels).isEqualTo(4);
    PilImage im = ImageInput.read(file);
    assertThat(im.mode()).isEqualTo(PilImage.Mode.RGBA);
    assertThat(im.pixels()).isEqualTo(ref.samples);
    // the fixture's alpha really varies, so compositing would have changed the colours
    assertThat(distinctAlpha(ref)).isGreaterThan(1);
    byte[] rgb = im.rgbPixels();
    for (int i = 0; i < 80 * 60; i++) {
      for (int c = 0; c < 3; c++) assertThat(rgb[3 * i + c]).isEqualTo(ref.samples[4 * i + c]);
    }
  }

  @Test
  void greyPngIsModeLAndConvertReplicatesIt() throws Exception {
    Path file = image("synthetic_gray_64x48.png");
    Decoded ref = decodePng(file);
    PilImage im = ImageInput.read(file);
    assertThat(im.mode()).isEqualTo(PilImage.Mode.L);
    assertThat(im.pixels()).isEqualTo(ref.samples);
    Tensor chw = ImageInput.readRgb(file);
    assertThat(Tensors.shape(chw)).containsExactly(3, 48, 64);
    for (int c = 0; c < 3; c++) {
      assertThat(toBytes(chw.select(0, c).contiguous())).isEqualTo(ref.samples);
    }
  }

  @Test
  void rgbPhotoIsReadLosslesslyAsChw() throws Exception {
    Path file = image("photo_coco_cats_crop_101x75.png");
    Decoded ref = decodePng(file);
    Tensor chw = ImageInput.readRgb(file);
    assertThat(Tensors.shape(chw)).containsExactly(3, 75, 101);
    byte[] hwc = toBytes(chw.permute(1, 2, 0).contiguous()); // (3, H, W) -> (H, W, 3)
    assertThat(hwc).isEqualTo(ref.samples);
  }

  @Test
  void paletteImageIsExpandedThroughItsPalette() throws Exception {
    byte[] r = {10, (byte) 200, 30, 0};
    byte[] g = {20, 40, (byte) 250, 0};
    byte[] b = {30, 60, 90, (byte) 255};
    IndexColorModel icm = new IndexColorModel(8, 4, r, g, b);
    BufferedImage img = new BufferedImage(3, 2, BufferedImage.TYPE_BYTE_INDEXED, icm);
    img.getRaster().setPixels(0, 0, 3, 2, new int[] {0, 1, 2, 3, 2, 1});
    Path file = tmp.resolve("palette.png");
    ImageIO.write(img, "png", file.toFile());
    PilImage im = ImageInput.read(file);
    assertThat(im.mode()).isEqualTo(PilImage.Mode.P);
    assertThat(im.sample(1, 0, 0)).isEqualTo(200);
    assertThat(im.sample(0, 1, 2)).isEqualTo(255);
    assertThat(im.sample(2, 1, 1)).isEqualTo(40);
  }

  @Test
  void sixteenBitGreyIsModeIAndClipsAt255LikePillowConvert() throws Exception {
    BufferedImage img = new BufferedImage(3, 1, BufferedImage.TYPE_USHORT_GRAY);
    img.getRaster().setPixels(0, 0, 3, 1, new int[] {7, 255, 40000});
    Path file = tmp.resolve("grey16.png");
    ImageIO.write(img, "png", file.toFile());
    PilImage im = ImageInput.read(file);
    assertThat(im.mode()).isEqualTo(PilImage.Mode.I);
    assertThat(new int[] {im.sample(0, 0, 0), im.sample(1, 0, 0), im.sample(2, 0, 0)}).containsExactly(7, 255, 255);
  }

  @Test
  void jpegIsDecodedToRgb() throws Exception {
    BufferedImage img = new BufferedImage(16, 8, BufferedImage.TYPE_3BYTE_BGR);
    for (int x = 0; x < 16; x++) for (int y = 0; y < 8; y++) img.setRGB(x, y, 0x408020);
    Path file = tmp.resolve("flat.jpg");
    ImageIO.write(img, "jpeg", file.toFile());
    PilImage im = ImageInput.read(file);
    assertThat(im.mode()).isEqualTo(PilImage.Mode.RGB);
    // a flat colour survives JPEG up to rounding
    assertThat(im.sample(5, 5, 0)).isBetween(0x40 - 2, 0x40 + 2);
    assertThat(im.sample(5, 5, 1)).isBetween(0x80 - 2, 0x80 + 2);
  }

  @Test
  void truncatedPngIsRejectedNamingTheFile() throws Exception {
    byte[] full = Files.readAllBytes(image("photo_coco_cats_128x96.png"));
    Path file = tmp.resolve("cut.png");
    Files.write(file, Arrays.copyOf(full, full.length / 2));
    assertThatThrownBy(() -> ImageInput.read(file)).isInstanceOf(ImageReadException.class)
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cut.png");
  }

  @Test
  void truncatedJpegIsRejectedNamingTheFile() throws Exception {
    BufferedImage img = new BufferedImage(64, 64, BufferedImage.TYPE_3BYTE_BGR);
    for (int x = 0; x < 64; x++) for (int y = 0; y < 64; y++) img.setRGB(x, y, x * 0x040201 + y * 3);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ImageIO.write(img, "jpeg", bytes);
    Path file = tmp.resolve("cut.jpg");
    Files.write(file, Arrays.copyOf(bytes.toByteArray(), bytes.size() * 2 / 3));
    assertThatThrownBy(() -> ImageInput.read(file)).isInstanceOf(ImageReadException.class)
        .hasMessageContaining("cut.jpg");
  }

  @Test
  void nonImageAndMissingFilesAreRejectedNamingTheFile() throws Exception {
    Path text = tmp.resolve("notes.png");
    Files.writeString(text, "not an image");
    assertThatThrownBy(() -> ImageInput.read(text)).isInstanceOf(ImageReadException.class)
        .hasMessageContaining("notes.png").hasMessageContaining("not a supported image");
    Path missing = tmp.resolve("missing.png");
    assertThatThrownBy(() -> ImageInput.read(missing)).isInstanceOf(ImageReadException.class)
        .hasMessageContaining("missing.png");
  }

  // ---- an independent PNG decoder: 8-bit, non-interlaced, colour types 0 (grey), 2 (RGB), 6 (RGBA) ----

  private record Decoded(int width, int height, int channels, byte[] samples) {}

  private static int distinctAlpha(Decoded d) {
    boolean[] seen = new boolean[256];
    int n = 0;
    for (int i = 3; i < d.samples.length; i += 4) {
      if (!seen[d.samples[i] & 0xff]) {
        seen[d.samples[i] & 0xff] = true;
        n++;
      }
    }
    return n;
  }

  private static Decoded decodePng(Path file) throws IOException, DataFormatException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
    b.position(8);
    int w = 0;
    int h = 0;
    int channels = 0;
    ByteArrayOutputStream idat = new ByteArrayOutputStream();
    while (b.remaining() > 8) {
      int len = b.getInt();
      byte[] type = new byte[4];
      b.get(type);
      byte[] data = new byte[len];
      b.get(data);
      b.getInt(); // crc
      String t = new String(type, java.nio.charset.StandardCharsets.US_ASCII);
      if (t.equals("IHDR")) {
        ByteBuffer ih = ByteBuffer.wrap(data);
        w = ih.getInt();
        h = ih.getInt();
        assertThat(ih.get()).as("bit depth").isEqualTo((byte) 8);
        int ct = ih.get();
        channels = switch (ct) {
          case 0 -> 1;
          case 2 -> 3;
          case 6 -> 4;
          default -> throw new IllegalStateException("colour type " + ct);
        };
        ih.get();
        ih.get();
        assertThat(ih.get()).as("interlace").isZero();
      } else if (t.equals("IDAT")) {
        idat.write(data);
      }
    }
    Inflater inf = new Inflater();
    inf.setInput(idat.toByteArray());
    int stride = w * channels;
    byte[] raw = new byte[(stride + 1) * h];
    int got = 0;
    while (got < raw.length && !inf.finished()) got += inf.inflate(raw, got, raw.length - got);
    byte[] out = new byte[stride * h];
    for (int y = 0; y < h; y++) {
      int filter = raw[y * (stride + 1)];
      for (int x = 0; x < stride; x++) {
        int v = raw[y * (stride + 1) + 1 + x] & 0xff;
        int a = x >= channels ? out[y * stride + x - channels] & 0xff : 0;
        int up = y > 0 ? out[(y - 1) * stride + x] & 0xff : 0;
        int c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels] & 0xff : 0;
        int pred = switch (filter) {
          case 0 -> 0;
          case 1 -> a;
          case 2 -> up;
          case 3 -> (a + up) / 2;
          case 4 -> paeth(a, up, c);
          default -> throw new IllegalStateException("filter " + filter);
        };
        out[y * stride + x] = (byte) (v + pred);
      }
    }
    return new Decoded(w, h, channels, out);
  }

  private static int paeth(int a, int b, int c) {
    int p = a + b - c;
    int pa = Math.abs(p - a);
    int pb = Math.abs(p - b);
    int pc = Math.abs(p - c);
    if (pa <= pb && pa <= pc) return a;
    return pb <= pc ? b : c;
  }

  static byte[] toBytes(Tensor u8) {
    byte[] out = new byte[(int) u8.numel()];
    new org.bytedeco.javacpp.BytePointer(u8.contiguous().data_ptr()).capacity(out.length).get(out);
    return out;
  }

  @Test
  void refusesAHeaderDeclaringMorePixelsThanTheBytesCanHoldBeforeDecoding() {
    // found by ImageInputFuzzTest: 68 bytes declaring a 1073741825 x 1 grey PNG; the decoder sized its raster from
    // the header and ran past the 10 s timeout (larger declarations: OutOfMemoryError)
    byte[] png = java.util.Base64.getDecoder().decode(
        "iVBORw0KGgoAAAANSUhEUkAAAAEAAAABAQAAAAAAAAACAAAAC0lEQVR4nGMQUAAAAEMAMerds80AAAAASUVORK5CYII=");
    long start = System.nanoTime();
    assertThatThrownBy(() -> ImageInput.read(png, "bomb.png")).isInstanceOf(ImageReadException.class)
        .hasMessageContaining("bomb.png").hasMessageContaining("1073741825 x 1 pixels is more than 178956970");
    // under PIL's limit, but more than 68 bytes can encode (the IHDR's CRC is not checked by the decoder)
    ByteBuffer.wrap(png).putInt(16, 10_000).putInt(20, 10_000);
    assertThatThrownBy(() -> ImageInput.read(png, "bomb.png")).isInstanceOf(ImageReadException.class)
        .hasMessageContaining("bomb.png").hasMessageContaining("10000 x 10000 pixels, more than its 68 bytes");
    assertThat((System.nanoTime() - start) / 1e9).isLessThan(5);
  }
}
