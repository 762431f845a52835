package marigold4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import marigold4j.models.CheckpointInspector;
import marigold4j.models.CheckpointInspector.ComponentInfo;
import marigold4j.models.CheckpointInspector.ParameterInfo;
import marigold4j.models.CheckpointInspector.Report;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code marigold4j inspect CHECKPOINT}: what a checkpoint holds, or what the Java models expect of it. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = {"Print each component of a checkpoint: class, parameter count, dtype and size.",
        "Use it to check a checkpoint before a long run."})
public final class InspectCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(paramLabel = "CHECKPOINT", description = "A checkpoint folder in the diffusers layout (with "
      + "model_index.json), one component folder, or a Hugging Face id org/name[@revision].")
  String checkpoint;

  @Mixin HubOptions hub;

  @Option(names = "--json", description = "Print one JSON object (stable format, for scripts), including every "
      + "parameter's name, shape and dtype.")
  boolean json;

  @Option(names = "--expected-params", description = "Report the parameter names and shapes the Java models expect, "
      + "computed from the config files alone (no weight file is needed or read).")
  boolean expectedParams;

  @Option(names = "--variant", paramLabel = "NAME",
      description = "Weight variant to read, e.g. fp16 (diffusion_pytorch_model.fp16.safetensors). Default: none.")
  String variant;

  @Option(names = "--check-finite", description = "Also read every weight and report those holding NaN or infinite "
      + "values (a model with such weights predicts NaN); exit code 1 when there are any. Takes a few seconds per GB.")
  boolean checkFinite;

  @Override
  public Integer call() throws Exception {
    Path dir = hub.resolve(checkpoint, variant, spec.commandLine().getErr());
    Report report = expectedParams ? CheckpointInspector.expected(dir) : CheckpointInspector.stored(dir, variant);
    Map<String, List<String>> nonFinite = checkFinite ? CheckpointInspector.nonFiniteWeights(dir, variant) : null;
    boolean anyBad = nonFinite != null && nonFinite.values().stream().anyMatch(l -> !l.isEmpty());
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
      com.fasterxml.jackson.databind.node.ObjectNode tree = mapper.valueToTree(report);
      if (nonFinite != null) tree.set("non_finite_weights", mapper.valueToTree(nonFinite));
      out.println(mapper.writeValueAsString(tree));
    } else {
      printTable(out, report);
      if (nonFinite != null) {
        if (!anyBad) out.println("all weights finite");
        nonFinite.forEach((component, bad) -> bad.forEach(b ->
            out.printf("non-finite weight in %s: %s%n", component, b)));
      }
    }
    out.flush();
    return anyBad ? 1 : 0;
  }

  private void printTable(PrintWriter out, Report report) {
    out.printf("%s%s — %s%n", report.checkpoint(),
        report.pipeline() == null ? "" : " (" + report.pipeline() + ")",
        expectedParams ? "parameters expected from the configs" : "weights as stored");
    int w = Math.max(9, report.components().keySet().stream().mapToInt(String::length).max().orElse(0));
    String row = "%-" + w + "s  %-30s %15s  %-9s %10s%n";
    String numRow = "%-" + w + "s  %-30s %,15d  %-9s %10s%n";
    out.printf(row, "component", "class", "parameters", "dtype", "size");
    long total = 0;
    for (Map.Entry<String, ComponentInfo> e : report.components().entrySet()) {
      ComponentInfo c = e.getValue();
      if (c.numParameters() == null) {
        out.printf(row, e.getKey(), c.className(), "-", "-", "-");
        continue;
      }
      total += c.numParameters();
      out.printf(Locale.ROOT, numRow, e.getKey(), c.className(), c.numParameters(), c.dtype(),
          humanBytes(c.sizeBytes()));
    }
    out.printf(Locale.ROOT, "%-" + w + "s  %-30s %,15d%n", "total", "", total);
    if (expectedParams) {
      for (Map.Entry<String, ComponentInfo> e : report.components().entrySet()) {
        if (e.getValue().parameters() == null) continue;
        out.printf("%n%s:%n", e.getKey());
        for (ParameterInfo p : e.getValue().parameters()) {
          out.printf("  %s %s%n", p.name(), Arrays.toString(p.shape()));
        }
      }
    }
  }

  static String humanBytes(long b) {
    if (b < 1024) return b + " B";
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = b;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
