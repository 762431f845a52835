package marigold4j.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.pipeline.NoiseType;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code spark-predict} in local mode ({@code local[2]}, 4 attempts per task) over the fixture images: its files are
 * byte-identical to what {@code predict}'s per-image path writes for the same settings, a task that fails on its
 * first attempt is retried without duplicates or temporary files, a corrupt image is one error, and a re-run skips
 * what is done.
 */
class SparkPredictTest {
  static final long SEED = 7;

  static SparkSession spark;
  static final AtomicInteger FAILED_TASKS = new AtomicInteger();

  @TempDir static Path shared;
  static Path input;
  static Path reference;

  @BeforeAll
  static void setUp() throws IOException {
    spark = SparkTests.spark();
    spark.sparkContext().addSparkListener(new SparkListener() {
      @Override
      public void onTaskEnd(SparkListenerTaskEnd end) {
        if (!end.taskInfo().successful()) FAILED_TASKS.incrementAndGet();
      }
    });
    input = SparkTests.inputFolder(shared.resolve("in"));
    reference = shared.resolve("reference");
    SparkTests.predictReference(SparkTests.TINY_DEPTH, input, reference,
        EstimatorSettings.builder().processingRes(64).ensembleSize(1).noise(NoiseType.ZEROS).build(), SEED);
  }

  /** A finished run: exit status, output, and the command (its summary). */
  record Run(int exit, String out, String err, SparkPredict command) {}

  static Run run(String... args) {
    SparkPredict c = new SparkPredict();
    CommandLine cl = SparkPredict.commandLine(c);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int code = cl.execute(args);
    return new Run(code, out.toString(), err.toString(), c);
  }

  static List<String> args(Path in, Path out, String... more) {
    List<String> a = new ArrayList<>(List.of("--master", "local[2]", "--checkpoint", SparkTests.TINY_DEPTH.toString(),
        "--input", in.toUri().toString(), "--output", out.toUri().toString(), "--processing-res", "64", "--seed",
        String.valueOf(SEED), "--threads", String.valueOf(SparkTests.THREADS)));
    a.addAll(List.of(more));
    return a;
  }

  @Test
  void filesAreByteIdenticalToPredictsAndARerunSkipsThem(@TempDir Path tmp) throws IOException {
    Path out = tmp.resolve("out");
    Run r = run(args(input, out, "--partitions", "3").toArray(String[]::new));
    assertThat(r.exit()).as(r.err()).isZero();
    Map<String, byte[]> expected = SparkTests.tree(reference);
    assertThat(expected).hasSize(15);                        // 5 images x (npy, 16-bit png, coloured png)
    assertThat(SparkTests.allFiles(out)).containsExactlyElementsOf(expected.keySet());
    expected.forEach((f, bytes) -> assertThat(SparkTests.tree(out).get(f)).as(f).isEqualTo(bytes));
    assertThat(SparkTests.allPaths(out)).noneMatch(p -> p.contains("_temporary") || p.startsWith("."));
    assertThat(r.out()).contains("depth: 5 of 5 images");

    Run again = run(args(input, out).toArray(String[]::new));
    assertThat(again.exit()).as(again.err()).isZero();
    assertThat(again.out()).contains("nothing to do");
    assertThat(again.command().summary.skipped()).isEqualTo(5);

    Files.delete(out.resolve("depth_bw/synthetic_gray_64x48_pred.png"));
    Run third = run(args(input, out).toArray(String[]::new));
    assertThat(third.exit()).as(third.err()).isZero();
    assertThat(third.command().summary.skipped()).isEqualTo(4);
    assertThat(third.command().summary.predicted()).isEqualTo(1);
    assertThat(SparkTests.tree(out).get("depth_bw/synthetic_gray_64x48_pred.png"))
        .isEqualTo(expected.get("depth_bw/synthetic_gray_64x48_pred.png"));
  }

  @Test
  void aTaskFailingOnItsFirstAttemptIsRetriedWithoutDuplicatesOrTemporaryFiles(@TempDir Path tmp) throws IOException {
    Path out = tmp.resolve("out");
    int failedBefore = FAILED_TASKS.get();
    // 5 partitions: partition 0's first attempt writes one image's files into its attempt folder, then fails
    Run r = run(args(input, out, "--partitions", "5", "--fail-first-attempt", "0").toArray(String[]::new));
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(FAILED_TASKS.get() - failedBefore).as("failed task attempts").isGreaterThanOrEqualTo(1);
    Map<String, byte[]> expected = SparkTests.tree(reference);
    Map<String, byte[]> got = SparkTests.tree(out);
    assertThat(got.keySet()).containsExactlyElementsOf(expected.keySet());
    expected.forEach((f, bytes) -> assertThat(got.get(f)).as(f).isEqualTo(bytes));
    assertThat(SparkTests.allPaths(out)).noneMatch(p -> p.contains("_temporary") || p.contains("attempt_"));
  }

  @Test
  void aCorruptImageIsAnErrorAndTheOthersAreWritten(@TempDir Path tmp) throws IOException {
    Path in = SparkTests.inputFolder(tmp.resolve("in"));
    byte[] png = Files.readAllBytes(in.resolve("synthetic_gray_64x48.png"));
    Files.write(in.resolve("truncated.png"), java.util.Arrays.copyOf(png, png.length / 2));
    Files.writeString(in.resolve("notes.png"), "not an image");
    Path out = tmp.resolve("out");
    Run r = run(args(in, out).toArray(String[]::new));
    assertThat(r.exit()).as(r.err()).isEqualTo(1);
    assertThat(r.command().summary.errors()).hasSize(2);
    assertThat(r.err()).contains("error: " + in.toUri().toString().replace("file:///", "file:/"));
    assertThat(r.err()).containsPattern("error: \\S*notes\\.png: not a supported image file")
        .containsPattern("error: \\S*truncated\\.png: ");
    assertThat(r.out()).contains("depth: 5 of 7 images").contains("2 failed");
    assertThat(SparkTests.allFiles(out)).hasSize(15).noneMatch(f -> f.contains("notes") || f.contains("truncated"));
  }

  @Test
  void parquetHoldsPredictsBytesPerImageAndErrorsAsRows(@TempDir Path tmp) throws IOException {
    Path in = SparkTests.inputFolder(tmp.resolve("in"));
    Files.writeString(in.resolve("notes.png"), "not an image");
    Path out = tmp.resolve("out.parquet");
    Run r = run(args(in, out, "--parquet").toArray(String[]::new));
    assertThat(r.exit()).as(r.err()).isEqualTo(1);
    Dataset<Row> rows = spark.read().parquet(out.toString());
    assertThat(rows.columns()).containsExactly("path", "depth_npy", "depth_png16", "depth_colored", "height",
        "width", "error");
    assertThat(rows.count()).isEqualTo(6);
    for (Row row : rows.filter(functions.col("error").isNull()).collectAsList()) {
      String file = row.getString(0);
      String name = file.substring(file.lastIndexOf('/') + 1, file.lastIndexOf('.'));
      assertThat((byte[]) row.get(1)).as(name).isEqualTo(Files.readAllBytes(reference.resolve("depth_npy/" + name
          + "_pred.npy")));
      assertThat((byte[]) row.get(2)).isEqualTo(Files.readAllBytes(reference.resolve("depth_bw/" + name
          + "_pred.png")));
      assertThat((byte[]) row.get(3)).isEqualTo(Files.readAllBytes(reference.resolve("depth_colored/" + name
          + "_pred_colored.png")));
    }
    Row bad = rows.filter(functions.col("error").isNotNull()).first();
    assertThat(bad.getString(0)).endsWith("notes.png");
    assertThat(bad.getString(6)).contains("notes.png").contains("not a supported image file");
    assertThat(bad.isNullAt(1)).isTrue();

    Run again = run(args(in, out, "--parquet").toArray(String[]::new));
    assertThat(again.command().summary.skipped()).isEqualTo(5);      // the failed image is tried again
    assertThat(spark.read().parquet(out.toString()).filter(functions.col("error").isNull()).count()).isEqualTo(5);
  }

  @Test
  void diffusersEnsemblesWithUncertaintyEqualPredictsFiles(@TempDir Path tmp) throws IOException {
    Path ref = tmp.resolve("ref");
    SparkTests.predictReference(SparkTests.TINY_V11_DEPTH, input, ref, EstimatorSettings.builder().processingRes(64)
        .ensembleSize(2).noise(NoiseType.ZEROS).outputUncertainty(true).build(), SEED);
    Path out = tmp.resolve("out");
    List<String> a = args(input, out, "--ensemble-size", "2", "--output-uncertainty");
    a.set(a.indexOf(SparkTests.TINY_DEPTH.toString()), SparkTests.TINY_V11_DEPTH.toString());
    Run r = run(a.toArray(String[]::new));
    assertThat(r.exit()).as(r.err()).isZero();
    Map<String, byte[]> expected = SparkTests.tree(ref);
    assertThat(expected.keySet()).anyMatch(f -> f.startsWith("depth_uncertainty/"));
    Map<String, byte[]> got = SparkTests.tree(out);
    assertThat(got.keySet()).containsExactlyElementsOf(expected.keySet());
    expected.forEach((f, bytes) -> assertThat(got.get(f)).as(f).isEqualTo(bytes));
  }

  @Test
  void badOptionsFailBeforeSparkStartsWithOneLine(@TempDir Path tmp) {
    Run r = run("--checkpoint", "x", "--input", tmp.toString(), "--output", tmp.resolve("o").toString(),
        "--ensemble-size", "0");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err().strip()).isEqualTo("error: --ensemble-size must be 1 or more, got 0");
    Run noInput = run("--output", tmp.toString());
    assertThat(noInput.err()).contains("--input PATH");
  }
}
