package marigold4j.eval.depth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Python's float repr and tabulate's simple table. */
class PythonFormatTest {
  @Test
  void printsFloatsAsPythonsRepr() {
    assertThat(PythonFormat.repr(0.001)).isEqualTo("0.001");
    assertThat(PythonFormat.repr(1e-5)).isEqualTo("1e-05");
    assertThat(PythonFormat.repr(0.0001)).isEqualTo("0.0001");
    assertThat(PythonFormat.repr(10.0)).isEqualTo("10.0");
    assertThat(PythonFormat.repr(1.0)).isEqualTo("1.0");
    assertThat(PythonFormat.repr(Double.POSITIVE_INFINITY)).isEqualTo("inf");
    assertThat(PythonFormat.repr(Double.NaN)).isEqualTo("nan");
    assertThat(PythonFormat.repr(-0.0)).isEqualTo("-0.0");
    assertThat(PythonFormat.repr(1e16)).isEqualTo("1e+16");
    assertThat(PythonFormat.repr(1234567890123456.0)).isEqualTo("1234567890123456.0");
    assertThat(PythonFormat.repr(1.5e300)).isEqualTo("1.5e+300");
    assertThat(PythonFormat.repr(-2.5e-7)).isEqualTo("-2.5e-07");
    assertThat(PythonFormat.repr(0.1 + 0.2)).isEqualTo("0.30000000000000004");
    // a float32 metric widened to double, as .item() returns it
    assertThat(PythonFormat.repr((double) (float) 0.06118275225162506)).isEqualTo("0.06118275225162506");
    // Java 17's Double.toString gives 2.0E-3 style and, here, a longer digit string
    assertThat(PythonFormat.repr(2.0E-3)).isEqualTo("0.002");
    assertThat(PythonFormat.repr(5e-324)).isEqualTo("5e-324");
    assertThat(PythonFormat.repr(Double.MAX_VALUE)).isEqualTo("1.7976931348623157e+308");
  }

  @Test
  void tabulatesWithoutTrailingSpaces() {
    String t = PythonFormat.tabulateSimple(List.of(List.of("ab", "c"), List.of("1.0", "22")));
    assertThat(t).isEqualTo("---  --\nab   c\n1.0  22\n---  --");
  }
}
