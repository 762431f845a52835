package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code predict}'s handling of awkward inputs and settings: checked early, reported in one line, never fatal. */
class PredictInputsTest {
  static final Path TINY_DEPTH = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth");
  static final Path GRAY = Golden.fixtures().resolve("images/synthetic_gray_64x48.png");

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"--ensemble-size,0,'--ensemble-size must be 1 or more, got 0'",
      "--denoise-steps,0,'--denoise-steps must be 1 or more, got 0'",
      "--processing-res,-5,'--processing-res must be 0 (native resolution) or more, got -5'",
      "--batch-size,-1,'--batch-size must be 0 (automatic) or more, got -1'"})
  void badSettingsFailBeforeTheCheckpointIsResolved(String option, String value, String message, @TempDir Path tmp) {
    Path out = tmp.resolve("o");
    CliRun r = CliRun.of("predict", "--offline", "--checkpoint", "org/not-downloaded", option, value, "-o",
        out.toString(), GRAY.toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).isEqualTo("error: " + message + System.lineSeparator());
    assertThat(out).doesNotExist();
  }

  @Test
  void aMissingOutputOptionIsNamedAsTheReadmeNamesIt() {
    CliRun r = CliRun.of("predict", "--checkpoint", TINY_DEPTH.toString(), GRAY.toString());
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains("--output DIR").doesNotContain("--output-dir");
  }

  @Test
  void aFolderNamedLikeAnImageIsSkippedAndTheOthersComplete(@TempDir Path tmp) throws IOException {
    Path folder = Files.createDirectories(tmp.resolve("dir.jpg"));
    Path out = tmp.resolve("o");
    CliRun r = CliRun.of("predict", "--checkpoint", TINY_DEPTH.toString(), "--processing-res", "64", "-o",
        out.toString(), folder.toString(), GRAY.toString());
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.err()).contains("warning: " + folder + ": a folder, not an image; skipped");
    assertThat(out.resolve("depth_npy/synthetic_gray_64x48_pred.npy")).exists();
  }

  @Test
  void aNewlineInAFileNameStaysOutOfTheOutputNamesAndTheReport(@TempDir Path tmp) throws IOException {
    Path odd = Files.copy(GRAY, tmp.resolve("two\nlines.png"));
    Path out = tmp.resolve("o");
    CliRun r = CliRun.of("predict", "--checkpoint", TINY_DEPTH.toString(), "--processing-res", "64", "-o",
        out.toString(), odd.toString());
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(out.resolve("depth_npy/two_lines_pred.npy")).exists();
    assertThat(r.err()).doesNotContain("two\nlines");
  }

  @Test
  void aFifoIsReportedAsWhatItIsAndNotRead(@TempDir Path tmp) throws Exception {
    Path fifo = tmp.resolve("pipe.png");
    Process mk;
    try {
      mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
    } catch (IOException e) {
      assumeTrue(false, "mkfifo not available");
      return;
    }
    assumeTrue(mk.waitFor(10, TimeUnit.SECONDS) && mk.exitValue() == 0, "mkfifo failed");
    CliRun r = CliRun.of("predict", "--checkpoint", TINY_DEPTH.toString(), "--processing-res", "64", "-o",
        tmp.resolve("o").toString(), fifo.toString(), GRAY.toString());
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.err()).contains(fifo + ": not a regular file (a FIFO, device or socket), not read");
  }

  @Test
  void skipExistingContinuesWhereAStoppedRunEnded(@TempDir Path tmp) throws IOException {
    Path in = Files.createDirectories(tmp.resolve("in"));
    Files.copy(GRAY, in.resolve("a.png"));
    Files.copy(GRAY, in.resolve("b.png"));
    Path out = tmp.resolve("o");
    String[] args = {"predict", "--checkpoint", TINY_DEPTH.toString(), "--processing-res", "64", "-o",
        out.toString(), "--skip-existing", in.toString()};
    CliRun first = CliRun.of(args);
    assertThat(first.exitCode()).as(first.err()).isZero();
    assertThat(first.out()).contains("2 of 2 images");
    Files.delete(out.resolve("depth_colored/b_pred_colored.png"));   // as if stopped while writing b's files
    CliRun second = CliRun.of(args);
    assertThat(second.exitCode()).as(second.err()).isZero();
    assertThat(second.err()).contains("--skip-existing: 1 of 2 images already have their outputs");
    assertThat(second.out()).contains("1 of 1 images");
    assertThat(out.resolve("depth_colored/b_pred_colored.png")).exists();
    CliRun third = CliRun.of(args);
    assertThat(third.out()).contains("nothing to do");
  }
}
