package marigold4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code marigold4j inspect CHECKPOINT}: placeholder until the model zoo lands (see issue 2). */
@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = "Print each component of a checkpoint: class, parameter count, dtype and size.")
public final class InspectCommand implements Callable<Integer> {
  @Parameters(paramLabel = "CHECKPOINT", description = "A checkpoint folder in the diffusers layout.")
  Path checkpoint;

  @Option(names = "--json", description = "Print one JSON object (stable format, for scripts).")
  boolean json;

  @Option(names = "--expected-params",
      description = "List the parameter names and shapes the Java models expect, from the configs alone.")
  boolean expectedParams;

  @Override
  public Integer call() {
    throw new UnsupportedOperationException("inspect is not implemented yet");
  }
}
