package marigold4j.prep;

import static org.assertj.core.api.Assertions.assertThat;

import marigold4j.eval.depth.PythonFormat;
import org.junit.jupiter.api.Test;

/** Python's float repr and numpy's pairwise sums, as pandas writes Hypersim's meta csv. */
class NumpyFormattingTest {
  @Test
  void formatsFloatsAsPythonRepr() {
    assertThat(PythonFormat.repr(0.0)).isEqualTo("0.0");
    assertThat(PythonFormat.repr(255)).isEqualTo("255.0");
    assertThat(PythonFormat.repr(4.144)).isEqualTo("4.144");
    assertThat(PythonFormat.repr(0.032552083333333336)).isEqualTo("0.032552083333333336");
    assertThat(PythonFormat.repr(1e-5)).isEqualTo("1e-05");
    assertThat(PythonFormat.repr(0.0001)).isEqualTo("0.0001");
    assertThat(PythonFormat.repr(1.5e16)).isEqualTo("1.5e+16");
    assertThat(PythonFormat.repr(1e15)).isEqualTo("1000000000000000.0");
    assertThat(PythonFormat.repr(-2.5)).isEqualTo("-2.5");
    assertThat(PythonFormat.repr(0.1 + 0.2)).isEqualTo("0.30000000000000004");
    assertThat(PythonFormat.repr(Double.NaN)).isEqualTo("nan");
  }

  @Test
  void sumsPairwiseLikeNumpy() {
    double[] v = new double[1000];
    for (int i = 0; i < v.length; i++) v[i] = 0.1 * i + 1e-3 / (i + 1);
    double sequential = 0;
    for (double x : v) sequential += x;
    // np.sum(v) in numpy 2.4; a sequential loop gives 49950.007485470844
    assertThat(NumpyStats.sum(v)).isEqualTo(49950.007485470866);
    assertThat(sequential).isNotEqualTo(49950.007485470866);
    assertThat(NumpyStats.mean(new double[] {1, 2, 3, 4})).isEqualTo(2.5);
    assertThat(NumpyStats.std(new double[] {1, 2, 3, 4})).isEqualTo(Math.sqrt(1.25));
  }
}
