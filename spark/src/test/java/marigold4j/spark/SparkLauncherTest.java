package marigold4j.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;

/** {@code ./marigold4j spark-predict}: the launcher runs the Spark job on the spark module's classpath, local mode. */
class SparkLauncherTest {
  private static final Path LAUNCHER = Golden.fixtures().getParent().resolve("marigold4j");

  @Test
  void sparkPredictRunsTheSparkEntryPointWithSparksModuleOptions() throws Exception {
    ProcessBuilder pb = new ProcessBuilder("bash", LAUNCHER.toString(), "spark-predict", "--master", "local[2]",
        "--input", "in/", "--output", "out/");
    Map<String, String> e = pb.environment();
    e.keySet().removeIf(k -> k.startsWith("MARIGOLD4J_"));
    e.put("MARIGOLD4J_DRY_RUN", "1");
    e.put("MARIGOLD4J_MALLOC", "system");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).isZero();
    String command = out.lines().filter(l -> l.startsWith("java ")).findFirst().orElseThrow();
    String here = LAUNCHER.getParent().toString();
    assertThat(command).contains("-Xmx4g", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
        "--add-opens=java.base/java.nio=ALL-UNNAMED", "-Dlog4j2.configurationFile=" + here + "/spark/conf/",
        "-cp " + here + "/spark/target/marigold4j-spark-0.1.0-SNAPSHOT.jar:" + here + "/spark/target/lib/*")
        .endsWith("marigold4j.spark.SparkPredict --master local[2] --input in/ --output out/");
  }
}
