package marigold4j.pipeline;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * A map an estimator predicts: {@link #DEPTH}, {@link #NORMALS}, or a named intrinsic-image target of an intrinsics
 * checkpoint ({@code albedo}, {@code shading}, {@code roughness}, ...: the names its {@code target_properties}
 * declare). Instances are interned: one object per name, so {@code ==} compares them.
 */
public final class Modality {
  private static final Map<String, Modality> BY_NAME = new ConcurrentHashMap<>();
  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]{0,31}");

  public static final Modality DEPTH = intern("depth", "depth", 1);
  public static final Modality NORMALS = intern("normals", "normal", 3);

  private final String name;
  private final String folderPrefix;
  private final int channels;

  private Modality(String name, String folderPrefix, int channels) {
    this.name = name;
    this.folderPrefix = folderPrefix;
    this.channels = channels;
  }

  private static Modality intern(String name, String prefix, int channels) {
    return BY_NAME.computeIfAbsent(name, n -> new Modality(n, prefix, channels));
  }

  /** The single-task maps a user may name ({@code depth:} / {@code normals:} prefixes, {@code --modality}). */
  public static List<Modality> tasks() {
    return List.of(DEPTH, NORMALS);
  }

  /** {@code depth} or {@code normals} (also {@code normal}), as run.py's {@code --modality}. */
  public static Modality parse(String s) {
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "depth" -> DEPTH;
      case "normals", "normal" -> NORMALS;
      default -> throw new IllegalArgumentException("unknown modality '" + s + "' (use depth or normals)");
    };
  }

  /** The map of this name if one is known (depth, normals, a target some loaded checkpoint declared). */
  public static java.util.Optional<Modality> lookup(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    if (n.equals("normal")) return java.util.Optional.of(NORMALS);
    return java.util.Optional.ofNullable(BY_NAME.get(n));
  }

  /**
   * The map named {@code name}: depth, normals, or an intrinsic target.
   *
   * @param channels the target's channel count (1 for a scalar property such as roughness, 3 for colour)
   * @throws IllegalArgumentException when the name is not a lower-case identifier (it names folders and files)
   */
  public static Modality target(String name, int channels) {
    if (name.equals("depth")) return DEPTH;
    if (name.equals("normals") || name.equals("normal")) return NORMALS;
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("target name '" + name + "' is not a lower-case identifier of up to 32 "
          + "characters (it names output folders)");
    }
    Modality m = intern(name, name, channels);
    if (m.channels != channels) {
      throw new IllegalArgumentException("target '" + name + "' has " + m.channels + " channels, not " + channels);
    }
    return m;
  }

  /** {@code depth}, {@code normals}, or the target's name. */
  public String cliName() {
    return name;
  }

  /** The prefix of its output folders: {@code depth}, {@code normal} (run.py's {@code normal_npy}), the target name. */
  public String folderPrefix() {
    return folderPrefix;
  }

  /** Channels of one map: 1 for depth and scalar targets, 3 for normals and colour targets. */
  public int channels() {
    return channels;
  }

  /** The name in upper case, as the enum this class replaced spelled it. */
  public String name() {
    return name.toUpperCase(Locale.ROOT);
  }

  @Override
  public String toString() {
    return name();
  }
}
