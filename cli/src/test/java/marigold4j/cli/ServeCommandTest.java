package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code marigold4j serve} as a command: its options, its user errors, and a start-serve-stop cycle. */
class ServeCommandTest {
  static final Path TINY_DEPTH = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth");

  @Test
  void helpExplainsEveryOption() {
    CliRun r = CliRun.of("serve", "--help");
    assertThat(r.exitCode()).isZero();
    assertThat(r.out()).contains("--checkpoint", "--host", "--port", "--max-upload-mb", "--max-megapixels",
        "--max-processing-res", "--queue-size", "--results", "--offline", "POST /api/predict");
    CommandLine cl = new CommandLine(new ServeCommand());
    cl.getCommandSpec().options().forEach(o ->
        assertThat(String.join(" ", o.description())).as(o.longestName()).isNotBlank());
  }

  @Test
  void aNegativeThreadCountIsRejectedBeforeAnyCheckpointIsResolved(@TempDir Path tmp) {
    CliRun r = CliRun.of("serve", "--offline", "--checkpoint", tmp.resolve("missing").toString(), "--port", "0",
        "--threads", "-1");
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).isEqualTo("error: --threads must be 0 (all cores) or more, got -1" + System.lineSeparator());
  }

  @Test
  void aMissingCheckpointIsOneLineNamingIt(@TempDir Path tmp) {
    Path missing = tmp.resolve("no-such-checkpoint");
    CliRun r = CliRun.of("serve", "--offline", "--checkpoint", missing.toString(), "--port", "0");
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err().strip()).startsWith("error: ").contains("no-such-checkpoint").doesNotContain("\n\tat ");
  }

  @Test
  void servesTheCheckpointUntilStopped() throws Exception {
    ServeCommand command = new ServeCommand();
    CommandLine cl = new CommandLine(command);
    StringWriter out = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(new StringWriter(), true));
    CommandLine line = cl;
    CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() -> line.execute("--checkpoint",
        TINY_DEPTH.toString(), "--port", "0", "--threads", "2"));
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (command.server == null && !run.isDone() && System.nanoTime() < deadline) Thread.sleep(50);
    assertThat(command.server).as("server started").isNotNull();
    URI uri = command.server.uri();
    assertThat(uri.getHost()).isEqualTo("127.0.0.1");
    HttpResponse<String> models = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(uri.resolve("/api/models")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(models.body()).contains("\"id\" : \"tiny-marigold-depth\"");
    assertThat(out.toString()).contains("Serving 1 model(s) on " + uri);
    command.stop.countDown();
    assertThat(run.get(1, TimeUnit.MINUTES)).isZero();
  }
}
