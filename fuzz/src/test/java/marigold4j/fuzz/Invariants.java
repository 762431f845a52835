package marigold4j.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The invariants every fuzz target checks around one call of a parser.
 *
 * <ul>
 *   <li>Only the parser's documented exceptions escape, and each carries a message (what the CLI shows); anything
 *       else (NullPointerException, ArrayIndexOutOfBounds, NegativeArraySize, ClassCast, NumberFormat, a raw
 *       Jackson exception, ...) is rethrown as a finding.</li>
 *   <li>Nothing is written: the folder holding the input has the same entries after the call (readers write
 *       nothing; targets that write give the writer its own output folder and check nothing appears elsewhere).</li>
 *   <li>Allocation bounded by actual rather than declared sizes: the fuzz JVM runs with {@code -Xmx512m} (see the
 *       module's pom), so an allocation sized from a header fails with OutOfMemoryError, which escapes as a finding;
 *       native allocations are checked by the targets themselves.</li>
 *   <li>Bounded time: every target carries a JUnit {@code @Timeout}, which Jazzer turns into libFuzzer's
 *       {@code -timeout} when fuzzing.</li>
 * </ul>
 */
public final class Invariants {
  private static final Path ROOT;

  static {
    try {
      ROOT = Files.createTempDirectory("marigold4j-fuzz-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ROOT.toFile().deleteOnExit();
  }

  private Invariants() {}

  /** A body that may throw anything; the invariants decide what is acceptable. */
  @FunctionalInterface
  public interface Body {
    void run() throws Exception;
  }

  /** A fresh, empty folder under this JVM's fuzz temp folder. */
  public static Path freshDir(String name) {
    try {
      Path d = ROOT.resolve(name);
      if (Files.exists(d)) deleteTree(d);
      return Files.createDirectories(d);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Writes {@code data} to {@code dir/name} (the folder is emptied first) and returns the file. */
  public static Path inputFile(String dir, String name, byte[] data) {
    Path d = freshDir(dir);
    try {
      return Files.write(d.resolve(name), data);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Runs {@code body}; returns normally when it returns or throws one of {@code allowed} (or a subclass) with a
   * non-blank message, rethrows anything else, and fails when entries under {@code watched} were added or removed.
   */
  @SafeVarargs
  public static void check(Path watched, Body body, Class<? extends Throwable>... allowed) {
    check(watched, null, body, allowed);
  }

  /**
   * {@link #check(Path, Body, Class[])} for a parser whose messages name its input: the message of a documented
   * exception must also contain {@code inputName} (the file or upload name the parser was given; {@code a|b}: either).
   */
  @SafeVarargs
  public static void check(Path watched, String inputName, Body body, Class<? extends Throwable>... allowed) {
    Set<String> before = listing(watched);
    try {
      body.run();
    } catch (Throwable t) {
      if (!isAllowed(t, allowed)) throw new AssertionError("undocumented exception " + t, t);
      if (t.getMessage() == null || t.getMessage().isBlank()) {
        throw new AssertionError("documented exception without a message: " + t, t);
      }
      if (inputName != null && java.util.Arrays.stream(inputName.split("\\|")).noneMatch(t.getMessage()::contains)) {
        throw new AssertionError("message does not name the input " + inputName + ": " + t, t);
      }
    }
    Set<String> after = listing(watched);
    if (!after.equals(before)) {
      throw new AssertionError("files changed under " + watched + ": before " + before + ", after " + after);
    }
  }

  private static boolean isAllowed(Throwable t, Class<? extends Throwable>[] allowed) {
    for (Class<? extends Throwable> c : allowed) {
      // IllegalArgumentException is documented by several parsers, but NumberFormatException (a subclass) never is:
      // it would mean a raw Integer.parseInt of untrusted text slipped through
      if (c.isInstance(t) && !(t instanceof NumberFormatException && c != NumberFormatException.class)) return true;
    }
    return false;
  }

  /** Every path under {@code dir}, relative, sorted (empty when the folder does not exist). */
  public static Set<String> listing(Path dir) {
    if (dir == null || !Files.isDirectory(dir)) return Set.of();
    try (Stream<Path> s = Files.walk(dir)) {
      return s.map(p -> dir.relativize(p).toString()).collect(java.util.stream.Collectors.toCollection(TreeSet::new));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void deleteTree(Path d) throws IOException {
    try (Stream<Path> s = Files.walk(d)) {
      List<Path> all = s.sorted(java.util.Comparator.reverseOrder()).toList();
      for (Path p : all) Files.deleteIfExists(p);
    }
  }
}
