package marigold4j.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import marigold4j.weights.SafeTensors;
import org.bytedeco.pytorch.Tensor;

/**
 * One golden case of the fixtures (produced by the original Python implementation): its JSON description and its
 * tensors ({@code in.<name>}, {@code out.<name>}, or any other key).
 */
public final class Golden {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final JsonNode json;
  private final Map<String, Tensor> tensors;

  private Golden(JsonNode json, Map<String, Tensor> tensors) {
    this.json = json;
    this.tensors = tensors;
  }

  /** The repository's copy of the fixtures: {@code testdata/} at the project root. */
  public static Path fixtures() {
    Path dir = Path.of("").toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("testdata/checkpoints"))) return p.resolve("testdata");
    }
    throw new IllegalStateException("testdata/ not found above " + dir);
  }

  /** Loads {@code testdata/<folder>/<name>.json} and its tensor file. */
  public static Golden load(String folder, String name) {
    Engine.init();
    Engine.setThreads(2);
    Path dir = fixtures().resolve(folder);
    JsonNode json = readJson(dir.resolve(name + ".json"));
    String tensorFile = json.path("tensor_file").asText(name + ".safetensors");
    Path tf = dir.resolve(tensorFile);
    Map<String, Tensor> tensors = Files.exists(tf) ? SafeTensors.load(tf) : Map.of();
    return new Golden(json, tensors);
  }

  public static JsonNode readJson(Path file) {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public JsonNode json() {
    return json;
  }

  public Tensor in(String name) {
    return tensor("in." + name);
  }

  public Tensor out(String name) {
    return tensor("out." + name);
  }

  public Tensor tensor(String key) {
    Tensor t = tensors.get(key);
    if (t == null) throw new IllegalArgumentException("no tensor " + key + " in golden; have " + tensors.keySet());
    return t;
  }

  public boolean has(String key) {
    return tensors.containsKey(key);
  }

  public Map<String, Tensor> tensors() {
    return tensors;
  }

  /** The case's suggested absolute tolerance for an output (20x its float64 deviation). */
  public double atol(String output) {
    JsonNode n = json.path("tolerances").path(output).path("suggested_atol");
    if (!n.isNumber()) throw new IllegalArgumentException("no suggested_atol for " + output);
    return n.asDouble();
  }

  /** Asserts equal shapes and max |actual - expected| <= atol, reporting the observed deviation. */
  public static void assertClose(Tensor actual, Tensor expected, double atol, String what) {
    assertThat(Tensors.shape(actual)).as(what + " shape").isEqualTo(Tensors.shape(expected));
    double diff = Tensors.maxAbsDiff(actual, expected);
    assertThat(diff).as(what + ": max |java - python| (shape " + Arrays.toString(Tensors.shape(expected))
        + ", atol " + atol + ")").isLessThanOrEqualTo(atol);
  }
}
