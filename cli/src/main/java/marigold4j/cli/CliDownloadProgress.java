package marigold4j.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import marigold4j.hub.DownloadProgress;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;

/**
 * Shows downloads on stderr (stdout stays for the command's result): a progress bar per file with size and rate on
 * a terminal, one line when a file starts and one when it is done otherwise (logs, pipes, CI).
 */
final class CliDownloadProgress implements DownloadProgress {
  private final PrintWriter err;
  private final boolean terminal;
  private ProgressBar bar;
  private long startNanos;
  private long initial;
  private long done;

  CliDownloadProgress(PrintWriter err, boolean terminal) {
    this.err = err;
    this.terminal = terminal;
  }

  /** Bars when stderr is a terminal (a console exists and no redirection is detectable from Java 17). */
  static CliDownloadProgress forConsole(PrintWriter err) {
    return new CliDownloadProgress(err, System.console() != null);
  }

  @Override
  public void started(String file, long totalBytes, long initialBytes) {
    closeBar();
    startNanos = System.nanoTime();
    initial = initialBytes;
    done = initialBytes;
    if (terminal) {
      bar = new ProgressBarBuilder().setTaskName(shorten(file)).setInitialMax(totalBytes).setUnit("MiB", 1 << 20)
          .showSpeed().setConsumer(new ConsoleProgressBarConsumer(System.err))
          .startsFrom(initialBytes, Duration.ZERO).build();
    } else {
      err.println("downloading " + file + " (" + size(totalBytes) + (initialBytes > 0 ? ", resuming at "
          + size(initialBytes) : "") + ")");
      err.flush();
    }
  }

  @Override
  public void advanced(String file, long bytesDone) {
    done = bytesDone;
    if (bar != null) bar.stepTo(bytesDone);
  }

  @Override
  public void finished(String file) {
    if (bar != null) {
      closeBar();
      return;
    }
    double seconds = Math.max(1e-3, (System.nanoTime() - startNanos) / 1e9);
    err.println(String.format(Locale.ROOT, "done %s: %s in %.1f s (%s/s)", file, size(done), seconds,
        size((long) ((done - initial) / seconds))));
    err.flush();
  }

  private void closeBar() {
    if (bar != null) {
      bar.close();
      bar = null;
    }
  }

  private static String shorten(String file) {
    return file.length() <= 40 ? file : "…" + file.substring(file.length() - 39);
  }

  static String size(long bytes) {
    if (bytes < 0) return "size unknown";
    if (bytes < 1024) return bytes + " B";
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
