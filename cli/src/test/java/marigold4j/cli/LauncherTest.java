package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ./marigold4j} launcher's choice of native allocator, through its dry run (which neither builds nor
 * starts Java), and a JVM started with the library it picks: {@code bench} must report that allocator.
 */
class LauncherTest {
  private static final Path LAUNCHER = Golden.fixtures().getParent().resolve("marigold4j");

  private record Launch(int exitCode, Map<String, String> env, String command, String err) {}

  /** Removes what the launcher reads or sets from a child's environment, so only the test's own values count. */
  private static void clearLauncherVariables(Map<String, String> env) {
    env.keySet().removeIf(k -> k.startsWith("MARIGOLD4J_") || k.startsWith("MALLOC_") || k.equals("LD_PRELOAD")
        || k.startsWith("OPENBLAS_"));
  }

  /** Runs the launcher's dry run with a clean environment plus {@code env}. */
  private static Launch dryRun(Map<String, String> env) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder("bash", LAUNCHER.toString(), "bench", "--json");
    Map<String, String> e = pb.environment();
    clearLauncherVariables(e);
    e.putAll(env);
    e.put("MARIGOLD4J_DRY_RUN", "1");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    int code = p.waitFor();
    Map<String, String> vars = new LinkedHashMap<>();
    String command = null;
    for (String line : out.lines().toList()) {
      if (line.startsWith("java ")) {
        command = line;
      } else if (line.contains("=")) {
        vars.put(line.substring(0, line.indexOf('=')), line.substring(line.indexOf('=') + 1));
      }
    }
    return new Launch(code, vars, command, err);
  }

  @Test
  void systemKeepsTheCLibraryMalloc() throws Exception {
    Launch l = dryRun(Map.of("MARIGOLD4J_MALLOC", "system"));
    assertThat(l.exitCode()).as(l.err()).isZero();
    assertThat(l.env()).containsEntry("LD_PRELOAD", "").containsEntry("MALLOC_CONF", "")
        .containsEntry("MALLOC_ARENA_MAX", "2").containsEntry("OPENBLAS_THREAD_TIMEOUT", "4");
    assertThat(l.command()).contains("-Xmx4g", "marigold4j.cli.Main bench --json");
  }

  @Test
  void settingsTheUserGaveWin() throws Exception {
    Launch l = dryRun(Map.of("MARIGOLD4J_MALLOC", "system", "OPENBLAS_THREAD_TIMEOUT", "28", "MALLOC_ARENA_MAX", "8",
        "MARIGOLD4J_JAVA_OPTS", "-Xmx2g"));
    assertThat(l.exitCode()).as(l.err()).isZero();
    assertThat(l.env()).containsEntry("OPENBLAS_THREAD_TIMEOUT", "28").containsEntry("MALLOC_ARENA_MAX", "8");
    assertThat(l.command()).startsWith("java -Xmx2g -cp ").doesNotContain("-Xmx4g");
  }

  @Test
  void aGivenLibraryIsPreloadedAndJemallocKeepsItsFreedPages(@TempDir Path tmp) throws Exception {
    Path lib = Files.createFile(tmp.resolve("libjemalloc.so.2"));
    Launch l = dryRun(Map.of("MARIGOLD4J_MALLOC", lib.toString()));
    assertThat(l.exitCode()).as(l.err()).isZero();
    assertThat(l.env()).containsEntry("LD_PRELOAD", lib.toString())
        .containsEntry("MALLOC_CONF", "dirty_decay_ms:-1,muzzy_decay_ms:-1");

    Launch own = dryRun(Map.of("MARIGOLD4J_MALLOC", lib.toString(), "MALLOC_CONF", "narenas:1"));
    assertThat(own.env()).as("the user's jemalloc settings win").containsEntry("MALLOC_CONF", "narenas:1");
  }

  @Test
  void aMissingLibraryIsNamedAndNothingRuns() throws Exception {
    Launch l = dryRun(Map.of("MARIGOLD4J_MALLOC", "/nonexistent/libtcmalloc.so"));
    assertThat(l.exitCode()).isEqualTo(2);
    assertThat(l.err()).contains("MARIGOLD4J_MALLOC=/nonexistent/libtcmalloc.so is not a file");
    assertThat(l.command()).isNull();
  }

  @Test
  void aPreloadTheUserSetIsLeftAlone() throws Exception {
    Launch l = dryRun(Map.of("LD_PRELOAD", "/nonexistent/libmine.so"));   // ld.so warns on stderr and goes on
    assertThat(l.exitCode()).isZero();
    assertThat(l.env()).containsEntry("LD_PRELOAD", "/nonexistent/libmine.so").containsEntry("MALLOC_CONF", "");
  }

  @Test
  void byDefaultPreloadsTcmallocWhenTheLinkerCacheListsIt() throws Exception {
    Launch l = dryRun(Map.of());
    assertThat(l.exitCode()).as(l.err()).isZero();
    String chosen = l.env().get("LD_PRELOAD");
    String tcmalloc = linkerCachePath("libtcmalloc_minimal.so.4");
    if (tcmalloc != null) {
      assertThat(chosen).isEqualTo(tcmalloc);
    } else if (!chosen.isEmpty()) {
      assertThat(Path.of(chosen)).exists();
      assertThat(Path.of(chosen).getFileName().toString()).matches("lib(tcmalloc|jemalloc).*");
    }
  }

  @Test
  void benchReportsTheAllocatorAndBlasSettingTheLauncherChose() throws Exception {
    Map<String, String> env = dryRun(Map.of()).env();
    String chosen = env.get("LD_PRELOAD");
    assumeTrue(chosen != null && !chosen.isEmpty(), "no tcmalloc or jemalloc installed (.ci/run installs tcmalloc)");
    String expected = Path.of(chosen).getFileName().toString().startsWith("libtcmalloc") ? "tcmalloc" : "jemalloc";
    JsonNode launched = bench(env);
    assertThat(launched.path("allocator").asText()).isEqualTo(expected);
    assertThat(launched.path("openblas_thread_timeout").asText()).isEqualTo("4");
    JsonNode plain = bench(Map.of());
    assertThat(plain.path("allocator").asText()).isEqualTo("system");
    assertThat(plain.path("openblas_thread_timeout").isNull()).isTrue();
  }

  /** A tiny {@code bench --json} in a fresh JVM with the launcher's variables {@code env} (none: a plain JVM). */
  private static JsonNode bench(Map<String, String> env) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "marigold4j.cli.Main", "bench", "--config", "tiny",
        "--width", "32", "--height", "24", "--runs", "1", "--warmup", "0", "--threads", "1", "--json"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD);
    clearLauncherVariables(pb.environment());
    env.forEach((k, v) -> {
      if (!v.isEmpty()) pb.environment().put(k, v);
    });
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(out).isZero();
    return new ObjectMapper().readTree(out.lines().reduce((a, b) -> b).orElseThrow());
  }

  /** The x86-64 / AArch64 path {@code ldconfig -p} lists for {@code name}, or null. */
  private static String linkerCachePath(String name) throws IOException, InterruptedException {
    Path ldconfig = Files.isExecutable(Path.of("/sbin/ldconfig")) ? Path.of("/sbin/ldconfig") : null;
    if (ldconfig == null) return null;
    Process p = new ProcessBuilder(ldconfig.toString(), "-p").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    String arch = System.getProperty("os.arch").equals("aarch64") ? "AArch64" : "x86-64";
    for (String line : out.lines().toList()) {
      String t = line.trim();
      if (t.startsWith(name + " ") && t.contains(arch)) {
        String path = t.substring(t.lastIndexOf(' ') + 1);
        if (Files.isRegularFile(Path.of(path))) return path;
      }
    }
    return null;
  }
}
