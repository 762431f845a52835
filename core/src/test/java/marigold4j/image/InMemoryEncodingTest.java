package marigold4j.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The byte-array variants (used by the server) give exactly what the file writers and readers give. */
class InMemoryEncodingTest {
  static final Path PHOTO = Golden.fixtures().resolve("images/photo_coco_cats_128x96.png");

  @Test
  void npyBytesAreTheFileTheWriterWrites(@TempDir Path tmp) throws Exception {
    Npy.Array a = Npy.Array.ofFloats(new float[] {0f, 0.25f, 0.5f, 1f, -2f, 3.5f}, 2, 3);
    Path f = tmp.resolve("a.npy");
    Npy.write(f, a);
    assertThat(Npy.toBytes(a)).isEqualTo(Files.readAllBytes(f));
  }

  @Test
  void png16BytesDecodeToTheSameValuesAsTheFile(@TempDir Path tmp) throws Exception {
    int[] v = {0, 1, 255, 256, 65534, 65535};
    Path f = tmp.resolve("d.png");
    Files.write(f, Png16.encodeValues(v, 3, 2));
    long[] read = Tensors.toLongs(Png16.read(f).to(org.bytedeco.pytorch.global.torch.ScalarType.Long));
    assertThat(read).containsExactly(0, 1, 255, 256, 65534, 65535);
    assertThatThrownBy(() -> Png16.encodeValues(new int[] {70000}, 1, 1)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void rgbPngBytesDecodeToTheSamePixels(@TempDir Path tmp) throws Exception {
    byte[] hwc = {(byte) 255, 0, 10, 1, 2, 3, 0, (byte) 128, (byte) 254, 9, 8, 7};
    Path f = tmp.resolve("c.png");
    Files.write(f, RgbPng.encodeHwc(hwc, 2, 2));
    assertThat(ImageInput.read(f).pixels()).isEqualTo(hwc);
  }

  @Test
  void decodesAnUploadExactlyAsTheFile() throws Exception {
    PilImage fromFile = ImageInput.read(PHOTO);
    PilImage fromBytes = ImageInput.read(Files.readAllBytes(PHOTO), "upload.png");
    assertThat(fromBytes.mode()).isEqualTo(fromFile.mode());
    assertThat(fromBytes.pixels()).isEqualTo(fromFile.pixels());
  }

  @Test
  void namesTheUploadWhenItIsNotAnImage() {
    assertThatThrownBy(() -> ImageInput.read("hello".getBytes(), "notes.txt"))
        .isInstanceOf(ImageReadException.class).hasMessageStartingWith("notes.txt: not a supported image file");
  }
}
