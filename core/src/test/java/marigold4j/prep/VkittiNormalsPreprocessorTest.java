package marigold4j.prep;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import marigold4j.testing.Golden;
import marigold4j.testing.TestFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Golden: {@code testdata/preprocess/vkitti_dag_normals} (gen_vkitti_normals.py, version d2nt_v3). The 16-bit
 * normal values may differ by one unit where numpy's SIMD float32 power rounds differently from Java's (see
 * {@link DagNormalsTest}); at most {@value #MAX_OFF_BY_ONE} of the samples may, and none by more.
 */
class VkittiNormalsPreprocessorTest {
  static final double MAX_OFF_BY_ONE = 0.005;
  private static final Path FIX = Golden.fixtures().resolve("preprocess/vkitti_dag_normals");

  @Test
  void writesTheOriginalsSixteenBitNormalPngs(@TempDir Path dir) throws IOException {
    Path root = dir.resolve("virtual_kitti_2");
    TestFiles.copyTree(FIX.resolve("data/virtual_kitti_2"), root);
    VkittiNormalsPreprocessor prep = new VkittiNormalsPreprocessor(root, 2);
    assertThat(prep.frames()).hasSize(3);
    VkittiNormalsPreprocessor.Report r = prep.run(new VkittiNormalsPreprocessor.Listener() {});
    assertThat(r.failures()).isEmpty();
    assertThat(r.processed()).isEqualTo(3);
    JsonNode frames = Golden.readJson(FIX.resolve("expected/frames.json")).get("frames");
    for (JsonNode fr : frames) {
      Path expected = FIX.resolve(fr.get("output_png").asText());
      Path got = root.resolve(FIX.resolve("expected").relativize(expected).toString());
      PngIo.Samples e = PngIo.read(expected);
      PngIo.Samples g = PngIo.read(got);
      assertThat(g.bands()).isEqualTo(3);
      assertThat(g.bitDepth()).isEqualTo(16);
      assertThat(g.width()).isEqualTo(e.width());
      int off = 0;
      int worst = 0;
      for (int i = 0; i < e.values().length; i++) {
        int d = Math.abs(g.values()[i] - e.values()[i]);
        if (d > 0) off++;
        worst = Math.max(worst, d);
      }
      double frac = (double) off / e.values().length;
      System.out.printf("%s: %d of %d samples differ (max %d)%n", got.getFileName(), off, e.values().length, worst);
      assertThat(worst).as(got + " max difference").isLessThanOrEqualTo(1);
      assertThat(frac).as(got + " fraction off by one").isLessThanOrEqualTo(MAX_OFF_BY_ONE);
    }
  }

  @Test
  void skipsExistingOutputsAndReportsCorruptDepth(@TempDir Path dir) throws IOException {
    Path root = dir.resolve("virtual_kitti_2");
    TestFiles.copyTree(FIX.resolve("data/virtual_kitti_2"), root);
    Path corrupt = root.resolve("vkitti_2.0.3_depth/Scene01/fog/frames/depth/Camera_1/depth_00003.png");
    Files.write(corrupt, new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 0});
    Path done = root.resolve("vkitti_DAG_normals/Scene02/15-deg-left/frames/normal/Camera_0/normal_00007.png");
    Files.createDirectories(done.getParent());
    Files.write(done, new byte[] {1});
    VkittiNormalsPreprocessor.Report r = new VkittiNormalsPreprocessor(root, 1)
        .run(new VkittiNormalsPreprocessor.Listener() {});
    assertThat(r.processed()).isEqualTo(1);
    assertThat(r.skipped()).isEqualTo(1);
    assertThat(r.failures()).singleElement().asString().contains("depth_00003.png");
  }

  @Test
  void roundTripsDepthThroughMetresInFloat32() {
    float[] z = VkittiNormalsPreprocessor.depthCm(new int[] {0, 1234, 65535});
    assertThat(z[0]).isEqualTo(0f);
    assertThat(z[1]).isEqualTo((1234f / 100f) * 100f);
    assertThat(z[2]).isEqualTo((65535f / 100f) * 100f);
  }
}
