package marigold4j.geometry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import marigold4j.image.Npy;
import marigold4j.image.Png16;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Metric references: .npy metres, 16-bit PNG over a scale (KITTI: 256), folders by input name. */
class MetricReferenceTest {
  @Test
  void readsA16BitPngOverItsScale(@TempDir Path tmp) {
    Path png = tmp.resolve("gt.png");
    Png16.writeValues(png, new int[] {0, 256, 512, 65535, 1280, 25600}, 3, 2);
    MetricReference r = MetricReference.read(png, 256.0);
    assertThat(r.width()).isEqualTo(3);
    assertThat(r.height()).isEqualTo(2);
    assertThat(r.depth()).containsExactly(0f, 1f, 2f, 65535 / 256f, 5f, 100f);
    assertThatThrownBy(() -> MetricReference.read(png, null)).hasMessageContaining("gt.png")
        .hasMessageContaining("--metric-depth-scale");
  }

  @Test
  void readsNpyMetresAndFindsPerImageFilesInAFolder(@TempDir Path tmp) {
    Npy.write(tmp.resolve("a.npy"), Npy.Array.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3, 1));
    MetricReference r = MetricReference.read(MetricReference.locate(tmp, "a"), null);
    assertThat(r.width()).isEqualTo(3);
    assertThat(r.depth()).containsExactly(1, 2, 3, 4, 5, 6);
    assertThatThrownBy(() -> MetricReference.locate(tmp, "b")).hasMessageContaining("b.npy");
    Npy.write(tmp.resolve("c.npy"), Npy.Array.ofFloats(new float[8], 2, 2, 2));
    assertThatThrownBy(() -> MetricReference.read(tmp.resolve("c.npy"), null)).hasMessageContaining("c.npy")
        .hasMessageContaining("(H, W)");
  }
}
