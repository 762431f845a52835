package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import marigold4j.testing.Golden;
import marigold4j.testing.TestFiles;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/**
 * {@code predict} and {@code serve} agree on what a checkpoint predicts, whatever its folder is called: each tiny
 * checkpoint is copied under a neutral name ("model-a"), and what {@code predict} writes is compared with what
 * {@code serve}'s {@code /api/models} offers. A checkpoint whose contents say nothing (the original Marigold and
 * E2E-FT releases, Lotus' task) falls back to its name in both (Lotus' folders are infer.py's: depth/, normal/).
 */
class CheckpointAgreementTest {
  @ParameterizedTest(name = "{0} renamed")
  @CsvSource({"tiny-marigold-depth,false,depth", "tiny-marigold-normals,false,depth",
      "tiny-marigold-normals,true,normals", "tiny-geowizard,false,depth+normals",
      "tiny-marigold-v11-normals,false,normals", "tiny-marigold-lcm-depth,false,depth",
      "tiny-marigold-iid-lighting,false,albedo+residual+shading", "tiny-lotus-depth-g,false,depth",
      "tiny-lotus-normal-d,false,depth"})
  void predictAndServeAgreeOnARenamedCopy(String name, boolean declareNormals, String expected, @TempDir Path tmp)
      throws Exception {
    Path copy = tmp.resolve("model-a");
    TestFiles.copyTree(Golden.fixtures().resolve("checkpoints/" + name), copy);
    if (declareNormals) {
      Path index = copy.resolve("model_index.json");
      Files.writeString(index, Files.readString(index).replaceFirst("\\{", "{\"prediction_type\": \"normals\","));
    }
    Path out = tmp.resolve("out");
    CliRun r = CliRun.of("predict", "--checkpoint", copy.toString(), "-o", out.toString(), "--processing-res", "64",
        Golden.fixtures().resolve("images/synthetic_gray_64x48.png").toString());
    assertThat(r.exitCode()).as(r.err()).isZero();
    List<String> predicted = new ArrayList<>();
    try (var dirs = Files.list(out)) {
      for (Path d : dirs.toList()) {
        String f = d.getFileName().toString();
        if (f.endsWith("_npy") && !f.endsWith("_uncertainty_npy")) {
          String map = f.substring(0, f.length() - "_npy".length());
          predicted.add(map.equals("normal") ? "normals" : map);
        } else if (f.equals("depth") || f.equals("normal")) {      // Lotus' infer.py folders
          predicted.add(f.equals("normal") ? "normals" : f);
        }
      }
    }
    java.util.Collections.sort(predicted);
    assertThat(String.join("+", predicted)).as("predict").isEqualTo(expected);
    List<String> served = new ArrayList<>(servedTasks(copy));
    java.util.Collections.sort(served);
    assertThat(String.join("+", served)).as("serve").isEqualTo(expected);
  }

  /** The tasks {@code serve --checkpoint dir} offers for its one model. */
  private static List<String> servedTasks(Path dir) throws Exception {
    ServeCommand command = new ServeCommand();
    CommandLine cl = new CommandLine(command);
    cl.setOut(new PrintWriter(new StringWriter(), true));
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err, true));
    CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() -> cl.execute("--checkpoint", dir.toString(),
        "--port", "0", "--threads", "2"));
    try {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
      while (command.server == null && !run.isDone() && System.nanoTime() < deadline) Thread.sleep(50);
      assertThat(command.server).as("server started: " + err).isNotNull();
      HttpResponse<String> models = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(command.server.uri().resolve("/api/models")).build(),
          HttpResponse.BodyHandlers.ofString());
      JsonNode model = new ObjectMapper().readTree(models.body()).path("models").get(0);
      List<String> tasks = new ArrayList<>();
      model.path("tasks").forEach(t -> tasks.add(t.asText()));
      return tasks;
    } finally {
      command.stop.countDown();
      assertThat(run.get(1, TimeUnit.MINUTES)).isZero();
    }
  }
}
