package marigold4j.prep;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Python's {@code repr(float)}: the shortest decimal string that reads back as the same double, in fixed notation
 * for exponents -4 .. 15 and {@code 1e-05} style otherwise. pandas writes float cells of a csv this way.
 */
public final class PythonRepr {
  private PythonRepr() {}

  /** {@code repr(v)} for a Python float. */
  public static String of(double v) {
    if (Double.isNaN(v)) return "nan";
    if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
    if (v == 0) return (1 / v < 0) ? "-0.0" : "0.0";
    BigDecimal exact = new BigDecimal(v);
    BigDecimal shortest = null;
    for (int digits = 1; digits <= 17; digits++) {
      BigDecimal r = exact.round(new MathContext(digits, RoundingMode.HALF_EVEN));
      if (r.doubleValue() == v) {
        shortest = r;
        break;
      }
    }
    String sign = v < 0 ? "-" : "";
    BigDecimal abs = shortest.abs().stripTrailingZeros();
    String digits = abs.unscaledValue().toString();
    int exponent = digits.length() - 1 - abs.scale(); // decimal exponent of the leading digit
    if (exponent < -4 || exponent >= 16) {
      String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
      return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (Math.abs(exponent) < 10 ? "0" : "")
          + Math.abs(exponent);
    }
    String plain = abs.toPlainString();
    if (!plain.contains(".")) plain += ".0";
    return sign + plain;
  }
}
