package marigold4j.eval.depth;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/**
 * Text exactly as the original evaluation's Python prints it: {@code repr(float)} and tabulate's {@code "simple"}
 * table without headers. The written metric files must be byte-identical to the original's. The one {@code repr}
 * of the project: dataset preparation writes pandas' float csv cells with it too.
 */
public final class PythonFormat {
  private PythonFormat() {}

  /**
   * Python's {@code repr(float)}: the shortest decimal that reads back as the same double (nearest one if several),
   * fixed notation for decimal exponents -4..15, otherwise {@code 1e-05} style. Java's {@code Double.toString}
   * differs in notation and, before Java 19, sometimes in digits.
   */
  public static String repr(double v) {
    if (Double.isNaN(v)) return "nan";
    if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
    if (v == 0) return (1 / v < 0) ? "-0.0" : "0.0";
    String sign = v < 0 ? "-" : "";
    BigDecimal exact = new BigDecimal(Math.abs(v));
    BigDecimal shortest = null;
    for (int p = 1; p <= 17 && shortest == null; p++) {
      BigDecimal nearest = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
      if (nearest.doubleValue() == Math.abs(v)) {
        shortest = nearest;
      } else {
        // next to a power of two the round-trip interval is lopsided: the other neighbour may read back
        for (RoundingMode m : new RoundingMode[] {RoundingMode.FLOOR, RoundingMode.CEILING}) {
          BigDecimal c = exact.round(new MathContext(p, m));
          if (c.doubleValue() == Math.abs(v)) {
            shortest = c;
            break;
          }
        }
      }
    }
    BigDecimal r = shortest.stripTrailingZeros();
    String digits = r.unscaledValue().toString();
    int n = digits.length();
    int decpt = n - r.scale(); // value = 0.<digits> x 10^decpt
    StringBuilder s = new StringBuilder(sign);
    if (decpt > -4 && decpt <= 16) {
      if (decpt <= 0) {
        s.append("0.").append("0".repeat(-decpt)).append(digits);
      } else if (decpt >= n) {
        s.append(digits).append("0".repeat(decpt - n)).append(".0");
      } else {
        s.append(digits, 0, decpt).append('.').append(digits, decpt, n);
      }
    } else {
      int exp = decpt - 1;
      s.append(digits.charAt(0));
      if (n > 1) s.append('.').append(digits, 1, n);
      s.append('e').append(exp < 0 ? '-' : '+');
      String e = Integer.toString(Math.abs(exp));
      s.append(e.length() < 2 ? "0" + e : e);
    }
    return s.toString();
  }

  /**
   * {@code tabulate(rows)} with the default {@code "simple"} format and no headers, for columns of strings: every
   * cell left-aligned and padded to its column's width, columns joined by two spaces, each line stripped of
   * trailing spaces (so the last column is not padded), dash rulers above and below, lines joined by {@code \n}
   * without a trailing newline.
   */
  public static String tabulateSimple(List<List<String>> rows) {
    int cols = rows.stream().mapToInt(List::size).max().orElse(0);
    int[] width = new int[cols];
    for (List<String> row : rows) {
      for (int c = 0; c < row.size(); c++) width[c] = Math.max(width[c], row.get(c).length());
    }
    List<String> rulerCells = new ArrayList<>();
    for (int w : width) rulerCells.add("-".repeat(w));
    String ruler = String.join("  ", rulerCells);
    List<String> lines = new ArrayList<>();
    lines.add(ruler);
    for (List<String> row : rows) {
      List<String> cells = new ArrayList<>();
      for (int c = 0; c < cols; c++) {
        String cell = c < row.size() ? row.get(c) : "";
        cells.add(cell + " ".repeat(width[c] - cell.length()));
      }
      lines.add(String.join("  ", cells).stripTrailing());
    }
    lines.add(ruler);
    return String.join("\n", lines);
  }
}
