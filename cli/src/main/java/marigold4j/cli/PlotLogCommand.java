package marigold4j.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;
import marigold4j.train.MetricsLog;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code marigold4j plot-log}: the loss and learning-rate curves of a training run, as a PNG. */
@Command(name = "plot-log", mixinStandardHelpOptions = true,
    description = "Render the loss and learning-rate curves of a training metrics log (logs/metrics.jsonl of "
        + "'marigold4j train') to a PNG.")
public final class PlotLogCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(paramLabel = "LOG", description = "A metrics.jsonl file, or a training output folder holding "
      + "logs/metrics.jsonl.")
  Path log;

  @Option(names = {"-o", "--output"}, paramLabel = "PNG",
      description = "The image to write (default: training_curves.png next to the log).")
  Path output;

  @Option(names = "--width", defaultValue = "1000", paramLabel = "PX", description = "Image width (default: ${DEFAULT-VALUE}).")
  int width;

  @Option(names = "--height", defaultValue = "700", paramLabel = "PX", description = "Image height (default: ${DEFAULT-VALUE}).")
  int height;

  @Override
  public Integer call() throws Exception {
    Path file = Files.isDirectory(log) ? log.resolve(MetricsLog.DEFAULT_FILE) : log;
    List<MetricsLog.Entry> entries = MetricsLog.read(file);
    if (entries.isEmpty()) throw new IllegalArgumentException(file + ": the log holds no steps");
    if (width < 200 || height < 200) throw new IllegalArgumentException("--width and --height must be >= 200");
    Path png = output != null ? output : file.toAbsolutePath().getParent().resolve("training_curves.png");
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, width, height);
    int half = height / 2;
    panel(g, entries, MetricsLog.Entry::loss, "loss", new Color(31, 119, 180), 0, half);
    panel(g, entries, MetricsLog.Entry::lr, "learning rate", new Color(255, 127, 14), half, height - half);
    g.dispose();
    if (png.toAbsolutePath().getParent() != null) Files.createDirectories(png.toAbsolutePath().getParent());
    if (!ImageIO.write(img, "png", png.toFile())) throw new IllegalStateException("no PNG writer");
    spec.commandLine().getOut().println("wrote " + png + " (" + entries.size() + " steps)");
    return 0;
  }

  private void panel(Graphics2D g, List<MetricsLog.Entry> entries, ToDoubleFunction<MetricsLog.Entry> value,
      String title, Color color, int top, int h) {
    int left = 90;
    int right = width - 20;
    int y0 = top + 30;
    int y1 = top + h - 40;
    double minX = entries.get(0).step();
    double maxX = Math.max(minX + 1, entries.get(entries.size() - 1).step());
    double minY = Double.POSITIVE_INFINITY;
    double maxY = Double.NEGATIVE_INFINITY;
    for (MetricsLog.Entry e : entries) {
      double v = value.applyAsDouble(e);
      if (!Double.isFinite(v)) continue;
      minY = Math.min(minY, v);
      maxY = Math.max(maxY, v);
    }
    if (!Double.isFinite(minY)) {
      minY = 0;
      maxY = 1;
    }
    if (maxY - minY < 1e-12) {
      maxY = minY + Math.max(1e-12, Math.abs(minY) * 0.1);
    }
    g.setColor(Color.DARK_GRAY);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
    g.drawString(title, left, top + 20);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
    g.drawRect(left, y0, right - left, y1 - y0);
    for (int i = 0; i <= 4; i++) {
      int y = y1 - i * (y1 - y0) / 4;
      g.setColor(new Color(230, 230, 230));
      g.drawLine(left + 1, y, right - 1, y);
      g.setColor(Color.DARK_GRAY);
      g.drawString(String.format(Locale.ROOT, "%.3g", minY + i * (maxY - minY) / 4), 5, y + 4);
    }
    g.drawString(String.format(Locale.ROOT, "step %d", (long) minX), left, y1 + 16);
    String last = String.format(Locale.ROOT, "step %d", (long) maxX);
    g.drawString(last, right - g.getFontMetrics().stringWidth(last), y1 + 16);
    g.setColor(color);
    g.setStroke(new BasicStroke(1.5f));
    int px = -1;
    int py = -1;
    for (MetricsLog.Entry e : entries) {
      double v = value.applyAsDouble(e);
      if (!Double.isFinite(v)) {
        px = -1;
        continue;
      }
      int x = left + (int) Math.round((e.step() - minX) / (maxX - minX) * (right - left));
      int y = y1 - (int) Math.round((v - minY) / (maxY - minY) * (y1 - y0));
      if (px >= 0) g.drawLine(px, py, x, y); else g.fillOval(x - 1, y - 1, 3, 3);
      px = x;
      py = y;
    }
  }
}
