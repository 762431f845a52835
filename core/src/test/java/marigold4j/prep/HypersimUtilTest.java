package marigold4j.prep;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import marigold4j.testing.Golden;
import marigold4j.testing.Npz;
import org.junit.jupiter.api.Test;

/** Golden: {@code testdata/preprocess/unit} (hypersim_util.py run by the fixture generator). */
class HypersimUtilTest {
  private static final Path UNIT = Golden.fixtures().resolve("preprocess/unit");
  private static final Npz NPZ = Npz.load(UNIT.resolve("preprocess_units.npz"));

  @Test
  void toneMapsLikeHypersimsScript() {
    double[] rgb = NPZ.doubles("tm0_rgb");
    int[] ids = NPZ.ints("tm0_entity_id");
    HypersimUtil.ToneMapped tm = HypersimUtil.toneMap(rgb, ids);
    double[] expected = NPZ.doubles("tm0_out");
    assertThat(maxAbsDiff(tm.rgb(), expected)).as("tone-mapped float64 (pow may differ by 1 ulp)")
        .isLessThanOrEqualTo(1e-15);
    assertThat(tm.toUint8()).as("uint8 after truncation").isEqualTo(NPZ.bytes("tm0_out_uint8"));
  }

  @Test
  void convertsDistanceToPlanarDepthForAnyImageSize() {
    var cases = Golden.readJson(UNIT.resolve("preprocess_units.json")).get("dist_2_depth");
    for (var c : cases) {
      int k = c.get("index").asInt();
      double[] depth = HypersimUtil.distToDepth(c.get("width").asInt(), c.get("height").asInt(),
          c.get("focal").asDouble(), NPZ.doubles("dd" + k + "_distance"));
      assertThat(maxAbsDiff(depth, NPZ.doubles("dd" + k + "_depth"))).as("dd" + k).isEqualTo(0.0);
    }
  }

  @Test
  void percentileInterpolatesLikeNumpy() {
    assertThat(HypersimUtil.percentile(new double[] {4, 1, 3, 2}, 90)).isEqualTo(3.7);
    assertThat(HypersimUtil.percentile(new double[] {5}, 90)).isEqualTo(5);
    assertThat(HypersimUtil.percentile(new double[] {0, 10}, 50)).isEqualTo(5);
  }

  @Test
  void scalesToZeroWhenTheImageIsBlackAndToOneWithoutValidPixels() {
    double[] rgb = {0, 0, 0, 0.5, 0.5, 0.5};
    assertThat(HypersimUtil.toneMap(new double[6], new int[] {1, 2}).scale()).isEqualTo(0.0);
    assertThat(HypersimUtil.toneMap(rgb, new int[] {-1, -1}).scale()).isEqualTo(1.0);
  }

  static double maxAbsDiff(double[] a, double[] b) {
    assertThat(a).hasSameSizeAs(b);
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      if (Double.isNaN(a[i]) && Double.isNaN(b[i])) continue;
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }
}
