package marigold4j.prep;

import static marigold4j.prep.HypersimUtilTest.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import marigold4j.testing.Golden;
import marigold4j.testing.Npz;
import org.junit.jupiter.api.Test;

/**
 * Golden: {@code testdata/preprocess/unit} ({@code dag*}) and {@code preprocess/vkitti_dag_normals/expected/
 * intermediates_*.npz} (depth-to-normal-translator's myApis.py / gen_vkitti_normals.py).
 *
 * <p>Everything is element-wise float32 / float64 arithmetic that Java reproduces bit for bit, except the soft-min's
 * float32 {@code np.power(np.e, -lap)}: numpy evaluates it with its SIMD (SVML) kernel, which differs from the
 * correctly rounded power by 1 ulp for about 20 % of the inputs (checked against numpy 2.4 on AVX-512). Values that
 * depend on the weights are therefore compared with a relative tolerance of {@value #REL} of the largest magnitude;
 * the gradients, the MRF step and the basic filter are exact.
 */
class DagNormalsTest {
  private static final Path PRE = Golden.fixtures().resolve("preprocess");
  private static final Npz UNIT = Npz.load(PRE.resolve("unit/preprocess_units.npz"));
  /** Relative tolerance for values computed from the soft-min weights (float32 power, see the class comment). */
  static final double REL = 1e-6;

  static void assertCloseRel(double[] got, double[] expected, String what) {
    double scale = 0;
    for (double v : expected) scale = Math.max(scale, Math.abs(v));
    double diff = maxAbsDiff(got, expected);
    System.out.printf("%s: max |java - python| = %.3g (max |value| %.3g)%n", what, diff, scale);
    assertThat(diff).as(what + " max abs diff").isLessThanOrEqualTo(REL * Math.max(scale, 1));
  }

  @Test
  void reproducesDagGradientsOfTheUnitCases() {
    for (int k = 0; k < 2; k++) {
      long[] s = UNIT.shape("dag" + k + "_Z");
      int h = (int) s[0];
      int w = (int) s[1];
      DagNormals.Gradients g = DagNormals.dagFilter(UNIT.floats("dag" + k + "_Z"), h, w);
      assertCloseRel(g.gu(), UNIT.doubles("dag" + k + "_Gu"), "Gu " + k);
      assertCloseRel(g.gv(), UNIT.doubles("dag" + k + "_Gv"), "Gv " + k);
    }
  }

  @Test
  void reproducesBasicCentralDifferences() {
    for (int k = 0; k < 2; k++) {
      long[] s = UNIT.shape("dag" + k + "_Z");
      DagNormals.Gradients g = DagNormals.basicFilter(UNIT.floats("dag" + k + "_Z"), (int) s[0], (int) s[1]);
      assertThat(maxAbsDiff(g.gu(), UNIT.doubles("dag" + k + "_Gu_basic"))).as("Gu basic " + k).isEqualTo(0.0);
      assertThat(maxAbsDiff(g.gv(), UNIT.doubles("dag" + k + "_Gv_basic"))).as("Gv basic " + k).isEqualTo(0.0);
    }
  }

  /**
   * The fixture's soft-min input (a random Laplacian map) is not stored. Its values at odd columns follow exactly
   * from the outputs at the borders and every second column; those columns are rebuilt and fed back, which checks
   * the weights' formula (eps terms, zero beyond the border) on the columns that depend only on them.
   */
  @Test
  void reproducesSoftMinWeightsWhereTheInputIsRecoverable() {
    for (int k = 0; k < 2; k++) {
      long[] s = UNIT.shape("dag" + k + "_softmin_l");
      int h = (int) s[0];
      int w = (int) s[1];
      double[] l = UNIT.doubles("dag" + k + "_softmin_l");
      double[] r = UNIT.doubles("dag" + k + "_softmin_r");
      float[] lap = new float[h * w];
      for (int y = 0; y < h; y++) {
        // column 0 has no left neighbour: r = (P(1) + eps/2) / (eps + P(1)) -> P(1) = (eps/2 - eps r) / (r - 1)
        double p1 = (0.5e-8 - 1e-8 * r[y * w]) / (r[y * w] - 1);
        lap[y * w + 1] = (float) -Math.log(p1);
        for (int c = 2; c + 1 < w; c += 2) {
          // l / r = (P(c-1) + eps/2) / (P(c+1) + eps/2)
          double prev = Math.pow(Math.E, -lap[y * w + c - 1]);
          double next = (prev + 0.5e-8) * r[y * w + c] / l[y * w + c] - 0.5e-8;
          lap[y * w + c + 1] = (float) -Math.log(next);
        }
      }
      DagNormals.Weights got = DagNormals.softMin(lap, h, w, true);
      for (int y = 0; y < h; y++) {
        for (int c = 0; c < w; c += 2) {
          int i = y * w + c;
          if (c + 1 >= w && c > 0) continue;
          assertThat(got.first()[i]).as("l[%d,%d]", y, c).isCloseTo(l[i], org.assertj.core.data.Offset.offset(1e-6));
          assertThat(got.second()[i]).as("r[%d,%d]", y, c).isCloseTo(r[i], org.assertj.core.data.Offset.offset(1e-6));
        }
      }
    }
  }

  @Test
  void mrfTakesTheNormalOfTheFlattestNeighbour() {
    for (int k = 0; k < 2; k++) {
      long[] s = UNIT.shape("dag" + k + "_Z");
      double[] got = DagNormals.mrfOptim(UNIT.floats("dag" + k + "_Z"), UNIT.doubles("dag" + k + "_normal_in"),
          (int) s[0], (int) s[1]);
      assertThat(maxAbsDiff(got, UNIT.doubles("dag" + k + "_normal_mrf"))).as("MRF " + k).isEqualTo(0.0);
    }
  }

  @Test
  void reproducesVkittiIntermediates() {
    for (String name : new String[] {"01", "02"}) {
      Npz npz = Npz.load(PRE.resolve("vkitti_dag_normals/expected/intermediates_" + name + ".npz"));
      long[] s = npz.shape("depth_cm_float32");
      int h = (int) s[0];
      int w = (int) s[1];
      float[] z = npz.floats("depth_cm_float32");
      DagNormals.Gradients g = DagNormals.dagFilter(z, h, w);
      assertCloseRel(g.gu(), npz.doubles("Gu"), "vkitti " + name + " Gu");
      assertCloseRel(g.gv(), npz.doubles("Gv"), "vkitti " + name + " Gv");
      // the normal from the stored (python) gradients is exact; from ours it inherits the power's rounding
      double[] exact = DagNormals.normalsFromGradients(z, new DagNormals.Gradients(npz.doubles("Gu"),
          npz.doubles("Gv")), h, w);
      assertThat(maxAbsDiff(exact, npz.doubles("normal_before_mrf"))).as("normal from python gradients").isEqualTo(0.0);
      assertCloseRel(DagNormals.normalsFromGradients(z, g, h, w), npz.doubles("normal_before_mrf"),
          "vkitti " + name + " normal before MRF");
      assertCloseRel(DagNormals.depthToNormals(z, h, w), npz.doubles("normal_final_float"),
          "vkitti " + name + " final normal");
    }
  }

  @Test
  void reflectsBordersWithoutRepeatingTheEdge() {
    assertThat(DagNormals.reflect(-1, 5)).isEqualTo(1);
    assertThat(DagNormals.reflect(5, 5)).isEqualTo(3);
    assertThat(DagNormals.reflect(2, 5)).isEqualTo(2);
  }
}
