package marigold4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The training metrics as JSON Lines, one object per optimizer step:
 * {@code {"step": 1, "loss": 0.41, "lr": 3e-05, "grad_norm": 0.31, "clip_coef": 1.0, "skipped": false,
 * "dropped_micro_batches": 0, "time": "2026-..."}}. {@code step} counts from 1 as train.py's {@code global_step}
 * after the update; {@code lr} is the learning rate that update used. A run with several loss terms (GeoWizard) also
 * logs each term's mean under the original's names, {@code "ssi_loss"} and {@code "normals_angular_loss"}.
 */
public final class MetricsLog {
  /** Where {@link E2EFTTrainer#train} writes, relative to the output folder. */
  public static final String DEFAULT_FILE = "logs/metrics.jsonl";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One line of the log. */
  public record Entry(long step, double loss, double lr, double gradNorm) {}

  private final Path file;

  public MetricsLog(Path file) {
    this.file = file;
  }

  /** Appends one step (flushed at once, so a crash loses nothing already logged). */
  public void append(E2EFTTrainer.StepResult r) {
    ObjectNode o = JSON.createObjectNode();
    o.put("step", r.step() + 1);
    o.put("loss", r.loss());
    o.put("lr", r.lr());
    o.put("grad_norm", r.gradNormPreClip());
    o.put("clip_coef", r.clipCoef());
    o.put("skipped", r.skipped());
    o.put("dropped_micro_batches", r.droppedMicroBatches());
    r.lossTerms().forEach((name, v) -> o.put(name + "_loss", v));
    o.put("time", java.time.Instant.now().toString());
    write(List.of(o.toString()), StandardOpenOption.APPEND);
  }

  /**
   * Drops lines of steps after {@code step}: a resumed run rewrites the steps done after its checkpoint, and the
   * log should not hold them twice.
   */
  public void truncateAfter(long step) {
    if (!Files.exists(file)) return;
    List<String> keep = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (line.isBlank()) continue;
        JsonNode n = JSON.readTree(line);
        if (n.path("step").asLong() <= step) keep.add(line);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    write(keep, StandardOpenOption.TRUNCATE_EXISTING);
  }

  /** Reads a metrics log; lines that are not JSON objects with a step are reported. */
  public static List<Entry> read(Path file) {
    List<Entry> out = new ArrayList<>();
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": file not found");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    int lineNo = 0;
    for (String line : lines) {
      lineNo++;
      if (line.isBlank()) continue;
      JsonNode n;
      try {
        n = JSON.readTree(line);
      } catch (IOException e) {
        throw new IllegalArgumentException(file + ": line " + lineNo + " is not JSON");
      }
      if (!n.path("step").isNumber()) throw new IllegalArgumentException(file + ": line " + lineNo + " has no step");
      out.add(new Entry(n.get("step").asLong(), n.path("loss").asDouble(Double.NaN), n.path("lr").asDouble(Double.NaN),
          n.path("grad_norm").asDouble(Double.NaN)));
    }
    return out;
  }

  private void write(List<String> lines, StandardOpenOption mode) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Files.write(file, lines, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.WRITE, mode);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }
}
