package marigold4j.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import marigold4j.eval.depth.EvalProgress;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress over a known number of items, for every command: a live bar (count, rate, time left, the current item)
 * on a terminal; otherwise (logs, CI, pipes) plain lines, at most about a hundred of them (every item of a short
 * run, failures always), and a last line when the loop ends. Steps may come from worker threads.
 */
final class Progress implements AutoCloseable {
  /** Marks a step label as a failure, which plain mode always prints. */
  static final String FAILED = " FAILED";

  private final ProgressBar bar;
  private final PrintWriter plain;
  private final String task;
  private final long total;
  private final long every;
  private final long startNanos = System.nanoTime();
  private long done;

  private Progress(String task, long total, ProgressBar bar, PrintWriter plain) {
    this.task = task;
    this.total = total;
    this.bar = bar;
    this.plain = plain;
    this.every = Math.max(1, total / 100);
  }

  /** Progress over images; plain lines go to {@code plain}. */
  static Progress start(String task, long total, PrintWriter plain) {
    return start(task, total, " img", plain);
  }

  /**
   * Progress over {@code total} items counted in {@code unit} (shown by the bar, e.g. {@code " frames"}); plain lines
   * go to {@code plain} when stdout is not a terminal.
   */
  static Progress start(String task, long total, String unit, PrintWriter plain) {
    if (System.console() != null && !"dumb".equals(System.getenv("TERM"))) {
      ProgressBar bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(total)
          .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK).setUnit(unit, 1).showSpeed()
          .setMaxRenderedLength(100).build();
      return new Progress(task, total, bar, null);
    }
    return new Progress(task, total, null, plain);
  }

  /**
   * The library's {@link EvalProgress}: each {@code start} .. {@code finish} cycle is one {@link Progress} over
   * samples.
   */
  static EvalProgress forEval(PrintWriter plain) {
    return new EvalProgress() {
      private Progress current;

      @Override
      public void start(String task, int total) {
        if (current != null) current.close();
        current = Progress.start(task, total, " samples", plain);
      }

      @Override
      public void step() {
        current.step("");
      }

      @Override
      public void finish() {
        current.close();
        current = null;
      }
    };
  }

  /** One item finished; {@code label} names it (empty for none; ending in {@link #FAILED} for a failure). */
  synchronized void step(String label) {
    done++;
    if (bar != null) {
      bar.step();
      bar.setExtraMessage(label);
    } else if (done % every == 0 || done == total || label.endsWith(FAILED)) {
      plain.printf(Locale.ROOT, "%s: %d/%d%s (%.1f s elapsed)%n", task, done, total,
          label.isEmpty() ? "" : " " + label, seconds());
      plain.flush();
    }
  }

  /** Time since {@link #start}. */
  Duration elapsed() {
    return Duration.ofNanos(System.nanoTime() - startNanos);
  }

  private double seconds() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  @Override
  public synchronized void close() {
    if (bar != null) {
      bar.close();
    } else {
      plain.printf(Locale.ROOT, "%s: %d/%d done in %.1f s%n", task, done, total, seconds());
      plain.flush();
    }
  }
}
