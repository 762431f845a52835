package marigold4j.geometry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.util.OptionalDouble;
import javax.imageio.ImageIO;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;

/** The camera choice: intrinsics, FOV, EXIF 35 mm-equivalent focal length, default FOV. */
class CameraTest {
  @Test
  void readsTheFocalLengthFromTheCheckedInJpegsExif() throws Exception {
    byte[] jpeg = Files.readAllBytes(Golden.fixtures().resolve("geometry/exif_focal35_26mm.jpg"));
    assertThat(ImageIO.read(new ByteArrayInputStream(jpeg)).getWidth()).as("a valid JPEG").isEqualTo(64);
    assertThat(Exif.focalLength35mm(jpeg)).hasValue(26.0);
  }

  @Test
  void readsBigEndianExifAndIgnoresJpegsAndFilesWithout() throws Exception {
    byte[] plain = ExifJpegFixture.plainJpeg(16, 8);
    assertThat(Exif.focalLength35mm(ExifJpegFixture.withExif(plain, 50, true))).hasValue(50.0);
    assertThat(Exif.focalLength35mm(plain)).isEmpty();
    assertThat(Exif.focalLength35mm(ExifJpegFixture.withExif(plain, 0, false))).as("0 = unknown").isEmpty();
    assertThat(Exif.focalLength35mm(new byte[] {(byte) 0x89, 'P', 'N', 'G'})).isEmpty();
    byte[] truncated = java.util.Arrays.copyOf(ExifJpegFixture.withExif(plain, 26, false), 30);
    assertThat(Exif.focalLength35mm(truncated)).isEmpty();
  }

  /** 26 mm on a 64 x 48 image: f = 26 * hypot(64, 48) / hypot(36, 24) = 26 * 80 / 43.2666 = 48.07 px. */
  @Test
  void exifFocalLengthScalesByTheDiagonal() {
    Camera c = new Camera.Spec(null, null).resolve(64, 48, OptionalDouble.of(26));
    assertThat(c.fx()).isCloseTo(26 * 80 / Math.sqrt(36 * 36 + 24 * 24), within(1e-9)).isCloseTo(48.07, within(0.01));
    assertThat(c.cx()).isEqualTo(31.5);
    assertThat(c.cy()).isEqualTo(23.5);
    assertThat(c.source()).contains("EXIF");
  }

  @Test
  void explicitChoicesWinAndTheDefaultIsDocumented() {
    Camera i = new Camera.Spec(new double[] {500, 510, 320, 240}, null).resolve(640, 480, OptionalDouble.of(26));
    assertThat(i.fx()).isEqualTo(500);
    assertThat(i.cy()).isEqualTo(240);
    Camera f = new Camera.Spec(null, 90.0).resolve(100, 50, OptionalDouble.of(26));
    assertThat(f.fx()).isCloseTo(50, within(1e-9));   // tan(45 deg) = 1
    assertThat(f.horizontalFovDegrees()).isCloseTo(90, within(1e-9));
    Camera d = new Camera.Spec(null, null).resolve(100, 50, OptionalDouble.empty());
    assertThat(d.horizontalFovDegrees()).isCloseTo(Camera.DEFAULT_FOV_DEGREES, within(1e-9));
    assertThat(d.source()).contains("default");
  }

  @Test
  void badIntrinsicsAreClearErrors() {
    assertThatThrownBy(() -> Camera.Spec.parseIntrinsics("1,2,3")).hasMessageContaining("--intrinsics");
    assertThatThrownBy(() -> Camera.Spec.parseIntrinsics("1,2,x,4")).hasMessageContaining("'x'");
    assertThatThrownBy(() -> new Camera.Spec(new double[] {0, 1, 1, 1}, null)).hasMessageContaining("positive");
    assertThatThrownBy(() -> new Camera.Spec(new double[] {1, 1, 1, 1}, 60.0)).hasMessageContaining("not both");
    assertThatThrownBy(() -> new Camera.Spec(null, 180.0)).hasMessageContaining("--fov");
  }
}
