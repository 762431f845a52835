package marigold4j.pipeline;

import java.util.Locale;

/** What a Marigold-style checkpoint predicts. */
public enum Modality {
  DEPTH, NORMALS;

  /** {@code depth} or {@code normals} (also {@code normal}), as run.py's {@code --modality}. */
  public static Modality parse(String s) {
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "depth" -> DEPTH;
      case "normals", "normal" -> NORMALS;
      default -> throw new IllegalArgumentException("unknown modality '" + s + "' (use depth or normals)");
    };
  }

  public String cliName() {
    return this == DEPTH ? "depth" : "normals";
  }
}
