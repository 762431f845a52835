package marigold4j.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Detection;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.estimator.Estimators;
import marigold4j.image.ImageInput;
import marigold4j.testing.Golden;
import marigold4j.torch.Engine;
import org.apache.spark.sql.SparkSession;
import org.bytedeco.javacpp.PointerScope;

/** The tests' shared local Spark (2 cores, 4 attempts per task) and the reference: predict's core-API path. */
final class SparkTests {
  static final Path IMAGES = Golden.fixtures().resolve("images");
  static final Path TINY_DEPTH = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth");
  static final Path TINY_V11_DEPTH = Golden.fixtures().resolve("checkpoints/tiny-marigold-v11-depth");
  static final int THREADS = 2;

  private SparkTests() {}

  static synchronized SparkSession spark() {
    return SparkSession.builder().master("local[2,4]").appName("marigold4j-spark-tests")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
        .config("spark.locality.wait", "0")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate();
  }

  /** The fixture images copied into {@code dir} (predict's input folder). */
  static Path inputFolder(Path dir) throws IOException {
    Files.createDirectories(dir);
    try (Stream<Path> s = Files.list(IMAGES)) {
      for (Path p : s.toList()) Files.copy(p, dir.resolve(p.getFileName()));
    }
    return dir;
  }

  /**
   * What {@code predict} writes for every image of {@code input} with {@code settings}: its per-image loop (decode
   * with {@link ImageInput#read(Path)}, {@link Estimator#predict}, {@link DensePrediction#save}), each image's call
   * seeded with {@code seed} (as predict seeds diffusers checkpoints, and any checkpoint's first image). Returns the
   * seconds of the image loop (the model load not counted).
   */
  static double predictReference(Path checkpoint, Path input, Path out, EstimatorSettings settings, long seed)
      throws IOException {
    Engine.setThreads(THREADS);
    Detection d = Estimators.detect(checkpoint, checkpoint.toString());
    try (Estimator e = Estimators.load(checkpoint, d, marigold4j.pipeline.Precision.FP32, "cpu");
        Stream<Path> s = Files.list(input)) {
      long start = System.nanoTime();
      for (Path image : s.sorted().toList()) {
        try (PointerScope scope = new PointerScope()) {
          String n = image.getFileName().toString();
          e.predict(ImageInput.read(image), settings, e.seeded(seed)).save(out, n.substring(0, n.lastIndexOf('.')));
        }
      }
      return (System.nanoTime() - start) / 1e9;
    }
  }

  /** Every file under {@code dir} (relative path -> bytes), folders and hidden files included. */
  static Map<String, byte[]> tree(Path dir) {
    Map<String, byte[]> out = new TreeMap<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        out.put(dir.relativize(p).toString(), Files.readAllBytes(p));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** Every file under {@code dir}, sorted. */
  static List<String> allFiles(Path dir) {
    return List.copyOf(tree(dir).keySet());
  }

  /** Every path under {@code dir}, folders too. */
  static List<String> allPaths(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.map(p -> dir.relativize(p).toString()).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
