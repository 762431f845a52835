package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import marigold4j.testing.Golden;
import marigold4j.testing.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code marigold4j prepare hypersim | vkitti-normals} on the preprocessing fixtures. */
class PrepareCommandTest {
  private static final Path PRE = Golden.fixtures().resolve("preprocess");
  private static final Path HYPERSIM = PRE.resolve("hypersim/data/hypersim");

  @Test
  void preparesHypersimLikeTheOriginalAndSkipsWorkOnARerun(@TempDir Path dir) throws IOException {
    Path out = dir.resolve("processed");
    String[] args = {"prepare", "hypersim", "--raw-dir", HYPERSIM.resolve("raw_data").toString(), "--split-csv",
        HYPERSIM.resolve("metadata_images_split_scene_v1.csv").toString(), "--output", out.toString(),
        "--threads", "2"};
    CliRun first = CliRun.of(args);
    assertThat(first.exitCode()).as(first.err()).isZero();
    assertThat(first.out()).contains("hypersim: 4 frame(s) written, 0 already done, 0 failed");
    for (String split : new String[] {"train", "val", "test"}) {
      assertThat(Files.readString(out.resolve(split + "/filename_meta_" + split + ".csv"))).isEqualTo(
          Files.readString(PRE.resolve("hypersim/expected/processed/" + split + "/filename_meta_" + split + ".csv")));
    }
    CliRun again = CliRun.of(args);
    assertThat(again.exitCode()).isZero();
    assertThat(again.out()).contains("0 frame(s) written, 4 already done");
  }

  @Test
  void reportsAMissingSplitCsvInOneLine(@TempDir Path dir) {
    CliRun r = CliRun.of("prepare", "hypersim", "--raw-dir", HYPERSIM.resolve("raw_data").toString(),
        "--split-csv", dir.resolve("nope.csv").toString(), "--output", dir.resolve("o").toString());
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.err().strip()).contains("nope.csv").contains("--split-csv").doesNotContain("\n").doesNotContain("Exception");
  }

  @Test
  void writesVkittiNormalsAndFailsAtTheEndOnACorruptDepthMap(@TempDir Path dir) throws IOException {
    Path root = dir.resolve("virtual_kitti_2");
    TestFiles.copyTree(PRE.resolve("vkitti_dag_normals/data/virtual_kitti_2"), root);
    Files.write(root.resolve("vkitti_2.0.3_depth/Scene01/fog/frames/depth/Camera_1/depth_00003.png"), new byte[] {1});
    CliRun r = CliRun.of("prepare", "vkitti-normals", "--vkitti-dir", root.toString());
    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.out()).contains("vkitti normals: 2 written, 0 already done, 1 failed");
    assertThat(r.err()).contains("depth_00003.png").doesNotContain("Exception");
    assertThat(root.resolve("vkitti_DAG_normals/Scene01/clone/frames/normal/Camera_0/normal_00000.png")).exists();
  }

  @Test
  void explainsEveryOption() {
    CliRun h = CliRun.of("prepare", "hypersim", "--help");
    assertThat(h.exitCode()).isZero();
    assertThat(h.out()).contains("--raw-dir", "--split-csv", "--output", "--normals-from", "--no-normals", "--threads");
    CliRun v = CliRun.of("prepare", "vkitti-normals", "--help");
    assertThat(v.out()).contains("--vkitti-dir", "data/virtual_kitti_2", "--threads");
    assertThat(CliRun.of("prepare").out()).contains("hypersim", "vkitti-normals");
  }
}
