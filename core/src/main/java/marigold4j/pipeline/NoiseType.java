package marigold4j.pipeline;

import java.util.Locale;

/** The initial latent of the denoising loop (run.py's {@code --noise}). */
public enum NoiseType {
  /** All zeros: the E2E-FT default (deterministic, single step). */
  ZEROS,
  /** {@code torch.randn} of the latent shape, one draw per batch. */
  GAUSSIAN,
  /** Multi-resolution noise ({@code pyramid_noise_like}). */
  PYRAMID;

  /** The name the command lines take and the scripts record ({@code zeros}, {@code gaussian}, {@code pyramid}). */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static NoiseType parse(String s) {
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "zeros" -> ZEROS;
      case "gaussian" -> GAUSSIAN;
      case "pyramid" -> PYRAMID;
      default -> throw new IllegalArgumentException("unknown noise '" + s + "' (use zeros, gaussian or pyramid)");
    };
  }
}
