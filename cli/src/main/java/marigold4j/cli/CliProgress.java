package marigold4j.cli;

import java.io.PrintWriter;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import marigold4j.eval.depth.EvalProgress;

/**
 * Progress of a loop over samples: a progress bar on a terminal, otherwise a plain line at every tenth of the way
 * (logs and CI output stay readable).
 */
final class CliProgress implements EvalProgress {
  private final PrintWriter log;
  private final boolean terminal;
  private ProgressBar bar;
  private String task;
  private int total;
  private int done;

  CliProgress(PrintWriter log) {
    this.log = log;
    this.terminal = System.console() != null;
  }

  @Override
  public void start(String taskName, int totalSteps) {
    task = taskName;
    total = totalSteps;
    done = 0;
    if (terminal) {
      bar = new ProgressBarBuilder().setTaskName(taskName).setInitialMax(totalSteps)
          .setConsumer(new ConsoleProgressBarConsumer(System.err)).build();
    } else {
      log.println(task + ": 0/" + total);
    }
  }

  @Override
  public void step() {
    done++;
    if (bar != null) {
      bar.step();
    } else if (total > 0 && done < total && (done * 10L / total) != ((done - 1) * 10L / total)) {
      log.println(task + ": " + done + "/" + total);
    }
  }

  @Override
  public void finish() {
    if (bar != null) {
      bar.close();
      bar = null;
    } else {
      log.println(task + ": " + done + "/" + total + " done");
    }
  }
}
