package marigold4j.cli;

import java.io.PrintWriter;
import java.time.Duration;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress over a known number of items: a live bar (count, rate, time left) on a terminal, one plain line per
 * item otherwise (logs, CI, pipes), so output stays readable in both.
 */
final class Progress implements AutoCloseable {
  private final ProgressBar bar;
  private final PrintWriter plain;
  private final String task;
  private final long total;
  private final long startNanos = System.nanoTime();
  private long done;

  private Progress(String task, long total, ProgressBar bar, PrintWriter plain) {
    this.task = task;
    this.total = total;
    this.bar = bar;
    this.plain = plain;
  }

  static Progress start(String task, long total, PrintWriter err) {
    if (System.console() != null && !"dumb".equals(System.getenv("TERM"))) {
      ProgressBar bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(total)
          .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK).setUnit(" img", 1).showSpeed()
          .setMaxRenderedLength(100).build();
      return new Progress(task, total, bar, null);
    }
    return new Progress(task, total, null, err);
  }

  /** One item finished; {@code label} names it in plain mode. */
  void step(String label) {
    done++;
    if (bar != null) {
      bar.step();
      bar.setExtraMessage(label);
    } else {
      double s = (System.nanoTime() - startNanos) / 1e9;
      plain.printf("%s: %d/%d %s (%.1f s elapsed)%n", task, done, total, label, s);
      plain.flush();
    }
  }

  Duration elapsed() {
    return Duration.ofNanos(System.nanoTime() - startNanos);
  }

  @Override
  public void close() {
    if (bar != null) bar.close();
  }
}
