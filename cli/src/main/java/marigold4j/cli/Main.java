package marigold4j.cli;

import marigold4j.checkpoint.CheckpointException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code marigold4j} command. */
@Command(
    name = "marigold4j",
    mixinStandardHelpOptions = true,
    version = "marigold4j 0.1.0",
    description = "Monocular depth and surface-normal estimation with Marigold / E2E-FT diffusion models.",
    subcommands = {PredictCommand.class, InspectCommand.class, DownloadCommand.class, ServeCommand.class,
        EvalCommand.class, PrepareCommand.class, TrainCommand.class, PlotLogCommand.class, BenchCommand.class,
        CommandLine.HelpCommand.class})
public final class Main implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** Builds the command line with the project's error handling: user errors print one line, not a stack trace. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.setExecutionExceptionHandler((ex, line, parseResult) -> {
      if (ex instanceof CheckpointException || ex instanceof IllegalArgumentException
          || ex instanceof java.io.UncheckedIOException) {
        line.getErr().println("error: " + ex.getMessage());
        return 2;
      }
      // Anything else is a bug or an engine failure (a libtorch error carries a C++ backtrace of dozens of lines):
      // one line by default, the whole trace when asked for.
      line.getErr().println("error: " + unexpected(ex));
      if (System.getenv("MARIGOLD4J_DEBUG") != null) {
        ex.printStackTrace(line.getErr());
      } else {
        line.getErr().println("(set MARIGOLD4J_DEBUG=1 for the full stack trace)");
      }
      return 3;
    });
    return cl;
  }

  /** One line for an unexpected failure: its type and the first line of its message (libtorch's is the cause). */
  static String unexpected(Throwable ex) {
    String message = ex.getMessage() == null ? "" : ex.getMessage().strip();
    int eol = message.indexOf('\n');
    String first = eol < 0 ? message : message.substring(0, eol).strip();
    boolean engine = message.contains("Exception raised from");
    String kind = engine ? "PyTorch engine error" : ex.getClass().getSimpleName();
    return first.isEmpty() ? kind : kind + ": " + first;
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }
}
