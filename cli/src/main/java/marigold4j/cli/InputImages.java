package marigold4j.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** Expands the INPUT arguments of a command into image files, in the order run.py processes them. */
final class InputImages {
  static final Set<String> EXTENSIONS = Set.of(".jpg", ".jpeg", ".png");

  private InputImages() {}

  /** As {@link #expand(List, boolean, Consumer)}, warnings dropped. */
  static List<Path> expand(List<Path> inputs, boolean recursive) {
    return expand(inputs, recursive, w -> { });
  }

  /**
   * Files are taken as given; folders contribute their images (jpg, jpeg, png; case-insensitive) sorted by path,
   * as run.py sorts its glob. A folder named like an image ({@code dir.jpg}, as a shell glob over a folder gives it)
   * is skipped with a warning when other inputs remain. Nothing found is an error naming the inputs.
   */
  static List<Path> expand(List<Path> inputs, boolean recursive, Consumer<String> warn) {
    List<Path> out = new ArrayList<>();
    for (Path in : inputs) {
      if (Files.isDirectory(in) && isImage(in) && inputs.size() > 1) {
        warn.accept(printable(in.toString()) + ": a folder, not an image; skipped");
      } else if (Files.isDirectory(in)) {
        List<Path> found;
        try (Stream<Path> s = recursive ? Files.walk(in) : Files.list(in)) {
          found = s.filter(Files::isRegularFile).filter(InputImages::isImage).sorted().toList();
        } catch (IOException e) {
          throw new UncheckedIOException(in + ": cannot list folder: " + e.getMessage(), e);
        }
        if (found.isEmpty()) {
          throw new IllegalArgumentException(in + ": no images (.jpg, .jpeg, .png) in this folder"
              + (recursive ? " or below it" : " (use --recursive to search sub-folders)"));
        }
        out.addAll(found);
      } else if (Files.exists(in)) {
        out.add(in);
      } else {
        throw new IllegalArgumentException(in + ": no such file or folder");
      }
    }
    return out;
  }

  /** Every input exists (checked before the checkpoint is resolved; folders are listed later). */
  static void requireExisting(List<Path> inputs) {
    for (Path in : inputs) {
      if (!Files.exists(in)) throw new IllegalArgumentException(in + ": no such file or folder");
    }
  }

  /**
   * Lotus' infer.py: files as given; folders contribute {@code sorted(rglob('*.png') + rglob('*.jpg'))}, searched
   * recursively, extensions case-sensitive ({@code .jpeg}, {@code .PNG} are not taken), sorted as Python sorts paths
   * (component by component). Nothing found is an error naming the folder.
   */
  static List<Path> expandLikeInferPy(List<Path> inputs) {
    List<Path> out = new ArrayList<>();
    for (Path in : inputs) {
      if (!Files.isDirectory(in)) {
        if (!Files.exists(in)) throw new IllegalArgumentException(in + ": no such file or folder");
        out.add(in);
        continue;
      }
      List<Path> found;
      try (Stream<Path> s = Files.walk(in)) {
        found = s.filter(Files::isRegularFile).filter(p -> {
          String n = p.getFileName().toString();
          return n.endsWith(".png") || n.endsWith(".jpg");
        }).sorted(InputImages::compareByComponents).toList();
      } catch (IOException e) {
        throw new UncheckedIOException(in + ": cannot list folder: " + e.getMessage(), e);
      }
      if (found.isEmpty()) {
        throw new IllegalArgumentException(in + ": no images (*.png, *.jpg) in this folder or below it");
      }
      out.addAll(found);
    }
    return out;
  }

  /** pathlib's ordering: name by name, so {@code a/b.png} sorts before {@code a-c.png}. */
  private static int compareByComponents(Path a, Path b) {
    int n = Math.min(a.getNameCount(), b.getNameCount());
    for (int i = 0; i < n; i++) {
      int c = a.getName(i).toString().compareTo(b.getName(i).toString());
      if (c != 0) return c;
    }
    return Integer.compare(a.getNameCount(), b.getNameCount());
  }

  static boolean isImage(Path p) {
    String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
    int dot = n.lastIndexOf('.');
    return dot >= 0 && EXTENSIONS.contains(n.substring(dot));
  }

  /**
   * The file name without its extension: the base of the output names. Control characters (a newline in a file
   * name) become {@code _}, so output names and the lines that report them stay one line each.
   */
  static String baseName(Path p) {
    String n = p.getFileName().toString();
    int dot = n.lastIndexOf('.');
    return CONTROL.matcher(dot > 0 ? n.substring(0, dot) : n).replaceAll("_");
  }

  /** {@code text} with control characters shown as {@code ?}, for progress and messages. */
  static String printable(String text) {
    return CONTROL.matcher(text).replaceAll("?");
  }

  private static final Pattern CONTROL = Pattern.compile("\\p{Cntrl}");
}
