package marigold4j.geometry;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import marigold4j.eval.normals.OpenExr;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** EXR files written here read back bit for bit through the project's reader ({@link OpenExr}). */
class ExrWriterTest {
  @Test
  void depthRoundTripsBitExactThroughOpenExrAcrossPartialBlocks(@TempDir Path tmp) throws Exception {
    int w = 37;
    int h = 40;                                   // 16 + 16 + 8 lines: the last ZIP block is partial
    float[] v = new float[w * h];
    Random r = new Random(7);
    for (int i = 0; i < v.length; i++) v[i] = r.nextFloat() * 100 - 3;
    v[5] = Float.MIN_VALUE;
    v[6] = -0f;
    Path f = tmp.resolve("d.exr");
    Files.write(f, ExrWriter.encodeGrey(w, h, v, "test"));
    OpenExr.Image img = OpenExr.read(f);
    assertThat(img.width()).isEqualTo(w);
    assertThat(img.height()).isEqualTo(h);
    assertThat(img.channels().keySet()).containsExactly("Y");
    for (int i = 0; i < v.length; i++) {
      assertThat(Float.floatToRawIntBits(img.channel("Y")[i])).as("pixel %d", i)
          .isEqualTo(Float.floatToRawIntBits(v[i]));
    }
  }

  @Test
  void threeChannelMapsAreRgbInChannelOrderAndSmoothMapsCompress(@TempDir Path tmp) throws Exception {
    int w = 64;
    int h = 33;
    float[] chw = new float[3 * w * h];
    for (int c = 0; c < 3; c++) {
      for (int i = 0; i < w * h; i++) chw[c * w * h + i] = c == 2 ? 0.5f : (c == 0 ? i % w : i / w) / 64f;
    }
    byte[] bytes = ExrWriter.encodeRgb(w, h, chw, null);
    assertThat(bytes.length).as("ZIP makes a smooth map smaller than its raw floats").isLessThan(3 * w * h * 4 / 2);
    Path f = tmp.resolve("n.exr");
    Files.write(f, bytes);
    OpenExr.Image img = OpenExr.read(f);
    assertThat(img.channels().keySet()).containsExactly("B", "G", "R");  // sorted, as the format requires
    for (int i = 0; i < w * h; i++) {
      assertThat(img.channel("R")[i]).isEqualTo(chw[i]);
      assertThat(img.channel("G")[i]).isEqualTo(chw[w * h + i]);
      assertThat(img.channel("B")[i]).isEqualTo(chw[2 * w * h + i]);
    }
  }

  /** Hand-computed: floats 1.0, 2.0 are bytes 00 00 80 3f 00 00 00 40; split even/odd, then the +128 deltas. */
  @Test
  void zipPreFilterMatchesTheHandComputedBytes() {
    byte[] raw = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1f).putFloat(2f).array();
    // even bytes 00 80 00 00, odd 00 3f 00 40 -> 00 80 00 00 00 3f 00 40 -> deltas +128 (mod 256)
    assertThat(ExrWriter.zipFilter(raw)).containsExactly(0x00, 0x00, 0x00, 0x80, 0x80, 0xbf, 0x41, 0xc0);
  }

  /** The header of a 2 x 1 image, checked against the OpenEXR file layout byte by byte. */
  @Test
  void headerOfATinyImageIsTheDocumentedLayout() {
    byte[] b = ExrWriter.encodeGrey(2, 1, new float[] {1f, 2f}, null);
    ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(bb.getInt(0)).isEqualTo(20000630);   // magic 76 2f 31 01
    assertThat(bb.getInt(4)).isEqualTo(2);          // version 2, single-part scan-line
    String start = new String(b, 8, 16, StandardCharsets.ISO_8859_1);
    assertThat(start).isEqualTo("channels\0chlist\0");
    assertThat(bb.getInt(24)).isEqualTo(2 + 16 + 1);     // "Y\0", 4 ints, list terminator
    assertThat(new String(b, 28, 2, StandardCharsets.ISO_8859_1)).isEqualTo("Y\0");
    assertThat(bb.getInt(30)).isEqualTo(2);              // FLOAT
    // the single block is stored raw (zlib would be larger): y = 0, 8 bytes, 1.0f 2.0f, at the end of the file
    int end = b.length;
    assertThat(bb.getInt(end - 16)).isEqualTo(0);
    assertThat(bb.getInt(end - 12)).isEqualTo(8);
    assertThat(bb.getFloat(end - 8)).isEqualTo(1f);
    assertThat(bb.getFloat(end - 4)).isEqualTo(2f);
    assertThat(bb.getLong(end - 24)).as("offset table points at the block").isEqualTo(end - 16);
  }
}
