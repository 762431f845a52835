package marigold4j.spark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.pipeline.NoiseType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Images/s through {@code spark-predict} (local[2], files output, the whole job: listing, skip check, prediction,
 * commit) against {@code predict}'s per-image loop in the same JVM (its model load not counted), same checkpoint,
 * settings and engine threads;
 * runs alternate and the median of each is reported (docs/performance.md). Not part of the suite (its name does not
 * end in Test): {@code -Dtest=SparkOverheadMeasurement}; {@code -Dimages=N -Dres=PX -Drounds=R} size it.
 */
class SparkOverheadMeasurement {
  @Test
  void overhead(@TempDir Path tmp) throws IOException {
    int copies = Integer.getInteger("images", 40) / 5;
    int res = Integer.getInteger("res", 384);
    int rounds = Integer.getInteger("rounds", 3);
    Path in = Files.createDirectories(tmp.resolve("in"));
    try (Stream<Path> s = Files.list(SparkTests.IMAGES)) {
      for (Path p : s.toList()) {
        String n = p.getFileName().toString();
        for (int i = 0; i < copies; i++) Files.copy(p, in.resolve(i + "_" + n));
      }
    }
    int n = copies * 5;
    EstimatorSettings settings = EstimatorSettings.builder().processingRes(res).ensembleSize(1)
        .noise(NoiseType.ZEROS).build();
    SparkTests.spark();
    List<Double> predict = new ArrayList<>();
    List<Double> spark = new ArrayList<>();
    for (int r = 0; r <= rounds; r++) {                      // round 0 warms both paths up
      Path a = tmp.resolve("p" + r);
      double tp = SparkTests.predictReference(SparkTests.TINY_DEPTH, in, a, settings, 0);
      Path b = tmp.resolve("s" + r);
      long t1 = System.nanoTime();
      int code = SparkPredict.run("--master", "local[2]", "--checkpoint", SparkTests.TINY_DEPTH.toString(), "--input",
          in.toString(), "--output", b.toString(), "--processing-res", String.valueOf(res), "--seed", "0",
          "--threads", String.valueOf(SparkTests.THREADS));
      double ts = (System.nanoTime() - t1) / 1e9;
      if (code != 0) throw new AssertionError("spark-predict failed: " + code);
      if (!SparkTests.allFiles(a).equals(SparkTests.allFiles(b))) throw new AssertionError("outputs differ");
      if (r > 0) {
        predict.add(tp);
        spark.add(ts);
      }
      System.out.printf(Locale.ROOT, "round %d: predict %.2f s, spark-predict %.2f s%n", r, tp, ts);
    }
    double mp = median(predict);
    double ms = median(spark);
    System.out.printf(Locale.ROOT, "%d images at %d px: predict %.2f images/s, spark-predict %.2f images/s, "
        + "overhead %.1f%%%n", n, res, n / mp, n / ms, 100 * (ms - mp) / mp);
  }

  private static double median(List<Double> v) {
    List<Double> s = new ArrayList<>(v);
    s.sort(Comparator.naturalOrder());
    return s.get(s.size() / 2);
  }
}
