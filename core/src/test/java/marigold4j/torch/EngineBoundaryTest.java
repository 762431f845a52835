package marigold4j.torch;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The engine boundary: bytedeco's calling conventions (optionals, option structs, vectors, scalars, parameter groups)
 * are spelled out only in {@code marigold4j.torch}. Any other main source file that constructs a type of
 * {@code org.bytedeco.pytorch} (or a subpackage) fails this test; it should call a helper of {@link F},
 * {@link Tensors}, {@link Optim} or {@link Autograd} instead.
 */
class EngineBoundaryTest {
  /** Types other packages may construct, each with the reason. Keep this short. */
  static final Map<String, String> ALLOWED = Map.of(
      "NoGradGuard", "an RAII guard: try (NoGradGuard ng = new NoGradGuard()) is the idiom for a no-grad scope");

  private static final String TORCH_PACKAGE_DIR = "core/src/main/java/marigold4j/torch/";
  private static final String BYTEDECO = "org.bytedeco.pytorch";
  private static final Pattern IMPORT = Pattern.compile("^\\s*import\\s+(" + Pattern.quote(BYTEDECO)
      + "(?:\\.\\w+)*)\\s*(\\.\\s*\\*)?\\s*;", Pattern.MULTILINE);
  private static final Pattern NEW = Pattern.compile(
      "\\bnew\\s+(" + Pattern.quote(BYTEDECO) + "\\s*\\.\\s*(?:\\w+\\s*\\.\\s*)*)?(\\w+)\\s*(?:<[^<>()]*>\\s*)?\\(");

  @Test
  void noBytedecoTypeIsConstructedOutsideTheTorchPackage() throws IOException {
    Path root = projectRoot();
    List<String> violations = new ArrayList<>();
    int scanned = 0;
    for (String dir : new String[] {"core/src/main/java", "cli/src/main/java"}) {
      List<Path> files;
      try (Stream<Path> walk = Files.walk(root.resolve(dir))) {
        files = walk.filter(p -> p.toString().endsWith(".java")).sorted().toList();
      }
      for (Path file : files) {
        String rel = root.relativize(file).toString().replace('\\', '/');
        if (rel.startsWith(TORCH_PACKAGE_DIR)) continue;
        scanned++;
        violations.addAll(scan(rel, Files.readString(file)));
      }
    }
    assertThat(scanned).as("main source files scanned under %s", root).isGreaterThan(50);
    assertThat(violations)
        .as("bytedeco types constructed outside marigold4j.torch (add or use a helper in F, Tensors, Optim or "
            + "Autograd; allowed: %s)", ALLOWED.keySet())
        .isEmpty();
  }

  @Test
  void scannerReportsConstructionsAndIgnoresCommentsStringsAndAllowedTypes() {
    String source = String.join("\n",
        "package marigold4j.example;",
        "",
        "import org.bytedeco.pytorch.NoGradGuard;",
        "import org.bytedeco.pytorch.ScalarTypeOptional;",
        "import org.bytedeco.pytorch.Tensor;",
        "",
        "/** Mentions new ScalarTypeOptional() in a comment, which is fine. */",
        "final class Example {",
        "  Tensor mean(Tensor x) {",
        "    try (NoGradGuard ng = new NoGradGuard()) {",
        "      String s = \"new ScalarTypeOptional()\"; // also new ScalarTypeOptional() here",
        "      Tensor[] none = new Tensor[0];",
        "      return x.mean(new long[] {1}, true, new ScalarTypeOptional());",
        "    }",
        "  }",
        "",
        "  Object other() {",
        "    return new org.bytedeco.pytorch.TensorOptions(org.bytedeco.pytorch.global.torch.ScalarType.Long);",
        "  }",
        "}");
    assertThat(scan("Example.java", source)).containsExactly(
        "Example.java:13: new ScalarTypeOptional(",
        "Example.java:18: new org.bytedeco.pytorch.TensorOptions(");
  }

  @Test
  void scannerReportsWildcardImports() {
    String source = "package x;\nimport org.bytedeco.pytorch.*;\nclass Y {}\n";
    assertThat(scan("Y.java", source)).containsExactly(
        "Y.java:2: import org.bytedeco.pytorch.* (hides which bytedeco types are constructed)");
  }

  /** The violations in one source file, as {@code file:line: new X(}. */
  static List<String> scan(String file, String source) {
    String code = stripCommentsAndLiterals(source);
    Set<String> imported = new HashSet<>();
    List<String> out = new ArrayList<>();
    Matcher imports = IMPORT.matcher(code);
    while (imports.find()) {
      if (imports.group(2) != null) {
        out.add(file + ":" + lineOf(code, imports.start(1)) + ": import " + imports.group(1)
            + ".* (hides which bytedeco types are constructed)");
      } else {
        String name = imports.group(1);
        imported.add(name.substring(name.lastIndexOf('.') + 1));
      }
    }
    Matcher m = NEW.matcher(code);
    while (m.find()) {
      String type = m.group(2);
      boolean bytedeco = m.group(1) != null || imported.contains(type);
      if (bytedeco && !ALLOWED.containsKey(type)) {
        String qualifier = m.group(1) == null ? "" : m.group(1).replaceAll("\\s+", "");
        out.add(file + ":" + lineOf(code, m.start()) + ": new " + qualifier + type + "(");
      }
    }
    return out;
  }

  /** The source with comments, string, text-block and char literals blanked out; line breaks are kept. */
  static String stripCommentsAndLiterals(String s) {
    StringBuilder out = new StringBuilder(s.length());
    int i = 0;
    int n = s.length();
    while (i < n) {
      char c = s.charAt(i);
      if (c == '/' && i + 1 < n && s.charAt(i + 1) == '/') {
        while (i < n && s.charAt(i) != '\n') i = blank(s, i, out);
      } else if (c == '/' && i + 1 < n && s.charAt(i + 1) == '*') {
        int end = s.indexOf("*/", i + 2);
        int stop = end < 0 ? n : end + 2;
        while (i < stop) i = blank(s, i, out);
      } else if (s.startsWith("\"\"\"", i)) {
        int end = s.indexOf("\"\"\"", i + 3);
        int stop = end < 0 ? n : end + 3;
        while (i < stop) i = blank(s, i, out);
      } else if (c == '"' || c == '\'') {
        out.append(' ');
        i++;
        while (i < n && s.charAt(i) != c && s.charAt(i) != '\n') {
          if (s.charAt(i) == '\\' && i + 1 < n) i = blank(s, i, out);
          i = blank(s, i, out);
        }
        if (i < n && s.charAt(i) == c) i = blank(s, i, out);
      } else {
        out.append(c);
        i++;
      }
    }
    return out.toString();
  }

  private static int blank(String s, int i, StringBuilder out) {
    out.append(s.charAt(i) == '\n' ? '\n' : ' ');
    return i + 1;
  }

  private static int lineOf(String s, int offset) {
    int line = 1;
    for (int i = 0; i < offset; i++) {
      if (s.charAt(i) == '\n') line++;
    }
    return line;
  }

  /** The folder holding both {@code core/} and {@code cli/}, found by walking up from the working directory. */
  private static Path projectRoot() {
    for (Path p = Paths.get("").toAbsolutePath(); p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("core")) && Files.isDirectory(p.resolve("cli"))) return p;
    }
    throw new UncheckedIOException(new IOException("no folder with core/ and cli/ above "
        + Paths.get("").toAbsolutePath()));
  }
}
