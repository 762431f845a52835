package marigold4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code marigold4j eval}: the evaluation protocols. */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = "Evaluate predictions (or a checkpoint) with the original papers' protocols.",
    subcommands = {EvalDepthCommand.class, EvalNormalsCommand.class})
public final class EvalCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }
}
