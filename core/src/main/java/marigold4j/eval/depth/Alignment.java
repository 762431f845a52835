package marigold4j.eval.depth;

import java.util.Locale;

/** How a relative prediction is brought to metric depth before the metrics (the original's {@code --alignment}). */
public enum Alignment {
  /** The prediction is taken as metric depth. */
  NONE(null),
  /** Least-squares scale and shift against the GT depth on the valid pixels. */
  LEAST_SQUARE("least_square"),
  /** Least-squares scale and shift of the prediction, taken as disparity, against the GT disparity. */
  LEAST_SQUARE_DISPARITY("least_square_disparity");

  private final String cliName;

  Alignment(String cliName) {
    this.cliName = cliName;
  }

  /** The original's argument value, {@code null} for {@link #NONE}. */
  public String cliName() {
    return cliName;
  }

  /** {@code eval_metrics-<alignment>.txt}, or {@code eval_metrics.txt} without alignment. */
  public String metricsFileName() {
    return cliName == null ? "eval_metrics.txt" : "eval_metrics-" + cliName + ".txt";
  }

  /** Parses {@code least_square}, {@code least_square_disparity} or {@code none}. */
  public static Alignment parse(String s) {
    String v = s.trim().toLowerCase(Locale.ROOT).replace('-', '_');
    for (Alignment a : values()) {
      if (v.equals(a.cliName) || (a == NONE && v.equals("none"))) return a;
    }
    throw new IllegalArgumentException("unknown alignment '" + s + "': use least_square, least_square_disparity "
        + "or none");
  }

  @Override
  public String toString() {
    return cliName == null ? "none" : cliName;
  }
}
