package marigold4j.eval.normals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import marigold4j.image.Npy;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;

/** {@code utils.compute_normal_error} and {@code compute_normal_metrics} against {@code eval/unit_normals}. */
class NormalErrorsTest {
  private static final double REL = 1e-6;

  private static NormalMap map(Npy.Array a) { // [1, 3, H, W]
    return new NormalMap((int) a.shape()[2], (int) a.shape()[3], a.toFloats());
  }

  @Test
  void reproducesPerPixelAngularErrorsBitForBit() {
    Map<String, Npy.Array> z = Npy.readNpz(Npz.units().resolve("normal_units.npz"));
    for (int k = 0; k < 2; k++) {
      float[] expected = z.get("n" + k + "_error_deg").toFloats();
      float[] actual = NormalErrors.angularErrorDegrees(map(z.get("n" + k + "_pred")), map(z.get("n" + k + "_gt")));
      DsineBenchmarkTest.assertSameFloats(actual, expected, "unit case " + k);
    }
  }

  @Test
  void zeroPredictionIsNinetyDegreesAndOppositeVectorsOneEighty() {
    Map<String, Npy.Array> z = Npy.readNpz(Npz.units().resolve("normal_units.npz"));
    float[] err = NormalErrors.angularErrorDegrees(map(z.get("n0_pred")), map(z.get("n0_gt")));
    assertThat(err[0]).isEqualTo(90f);
    assertThat(err[1]).isEqualTo(180f);
  }

  @Test
  void reproducesPooledMetricsOfTheUnitCases() {
    Map<String, Npy.Array> z = Npy.readNpz(Npz.units().resolve("normal_units.npz"));
    JsonNode cases = Golden.readJson(Npz.units().resolve("normal_units.json"));
    for (JsonNode c : cases) {
      int k = c.get("index").asInt();
      float[] err = NormalErrors.angularErrorDegrees(map(z.get("n" + k + "_pred")), map(z.get("n" + k + "_gt")));
      NormalMetrics m = NormalMetrics.of(err, err.length);
      assertMetrics(m, c.get("metrics"), "unit case " + k);
    }
  }

  static void assertMetrics(NormalMetrics m, JsonNode expected, String what) {
    String[] keys = {"mean", "median", "rmse", "a1", "a2", "a3", "a4", "a5"};
    double[] v = m.values();
    for (int i = 0; i < keys.length; i++) {
      double e = expected.get(keys[i]).asDouble();
      assertThat(v[i]).as(what + " " + keys[i] + " (rel. tol " + REL + ")").isCloseTo(e, within(REL * Math.abs(e)));
    }
  }

  @Test
  void keepsNativeMemoryFlatAcrossImages() {
    Map<String, Npy.Array> z = Npy.readNpz(Npz.units().resolve("normal_units.npz"));
    NormalMap p = map(z.get("n1_pred"));
    NormalMap g = map(z.get("n1_gt"));
    NormalErrors.angularErrorDegrees(p, g); // warm-up: loads libtorch
    long before = org.bytedeco.javacpp.Pointer.totalCount();
    for (int i = 0; i < 200; i++) NormalErrors.angularErrorDegrees(p, g);
    assertThat(org.bytedeco.javacpp.Pointer.totalCount()).as("live JavaCPP pointers").isLessThanOrEqualTo(before + 2);
  }

  @Test
  void pairwiseSumFollowsNumpyBlocking() {
    // 1000 values: numpy splits 1000 -> 496 + 504 -> ...; a naive left-to-right float sum differs in the last bits
    float[] a = new float[1000];
    for (int i = 0; i < a.length; i++) a[i] = (float) (0.1 + i * 1e-3) * (i % 7 + 1);
    double exact = 0;
    for (float f : a) exact += f;
    assertThat((double) NormalMetrics.pairwiseSum(a, 0, a.length)).isCloseTo(exact, within(exact * 1e-6));
  }

  @Test
  void formatsLikePythonPercentDotThreeF() {
    assertThat(NormalMetrics.format3(1.0005)).isEqualTo("1.000"); // binary value is below the tie
    assertThat(NormalMetrics.format3(0.0625)).isEqualTo("0.062"); // exact tie: half to even
    assertThat(NormalMetrics.format3(84.24280350438048)).isEqualTo("84.243");
    assertThat(NormalMetrics.format3(Double.NaN)).isEqualTo("nan");
  }
}
