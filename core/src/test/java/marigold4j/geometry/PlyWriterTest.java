package marigold4j.geometry;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A 3 x 2 depth map back-projected by hand, and the PLY bytes checked against the PLY 1.0 specification's binary
 * little-endian layout (header lines, then packed records in property order).
 */
class PlyWriterTest {
  /**
   * Depth (metres), row-major, 0 = invalid; camera fx = 2, fy = 4, cx = 1, cy = 0.5.
   * <pre>
   *   v=0:  2  4  0
   *   v=1:  2  2  6
   * </pre>
   * By hand, x = (u - cx) z / fx, y = (v - cy) z / fy:
   * (0,0): (-1, -0.25, 2); (1,0): (0, -0.5, 4); (0,1): (-1, 0.25, 2); (1,1): (0, 0.25, 2); (2,1): (3, 0.75, 6).
   */
  static final float[][] BY_HAND = {{-1, -0.25f, 2}, {0, -0.5f, 4}, {-1, 0.25f, 2}, {0, 0.25f, 2}, {3, 0.75f, 6}};

  static DepthGrid grid(boolean normalsFromDepth) {
    float[] z = {2, 4, 0, 2, 2, 6};
    byte[] rgb = new byte[18];
    for (int i = 0; i < 18; i++) rgb[i] = (byte) (10 * i);
    return new DepthGrid(3, 2, z, new Camera(2, 4, 1, 0.5, 3, 2, "test"), rgb, null, normalsFromDepth);
  }

  @Test
  void pointCloudOfA3x2MapIsTheHandComputedFile() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PlyWriter.writePointCloud(grid(false), List.of("hello"), out);
    byte[] b = out.toByteArray();
    String header = "ply\nformat binary_little_endian 1.0\ncomment hello\nelement vertex 5\n"
        + "property float x\nproperty float y\nproperty float z\n"
        + "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n";
    assertThat(new String(b, 0, header.length(), StandardCharsets.US_ASCII)).isEqualTo(header);
    assertThat(b).hasSize(header.length() + 5 * 15);
    ByteBuffer v = ByteBuffer.wrap(b, header.length(), 75).slice().order(ByteOrder.LITTLE_ENDIAN);
    int[] pixel = {0, 1, 3, 4, 5};      // the valid pixels in row-major order
    for (int k = 0; k < 5; k++) {
      assertThat(new float[] {v.getFloat(), v.getFloat(), v.getFloat()}).as("vertex %d", k).containsExactly(BY_HAND[k]);
      for (int c = 0; c < 3; c++) assertThat(v.get() & 0xff).isEqualTo(10 * (3 * pixel[k] + c));
    }
  }

  /** A fronto-parallel plane: normals from depth face the camera, (0, 0, -1). */
  @Test
  void normalsFromDepthOfAPlaneFaceTheCamera() throws Exception {
    float[] z = new float[12];
    java.util.Arrays.fill(z, 3);
    DepthGrid g = new DepthGrid(4, 3, z, new Camera(5, 5, 1.5, 1, 4, 3, "t"), null, null, true);
    float[] n = new float[3];
    for (int i = 0; i < 12; i++) {
      g.normal(i, n);
      assertThat(n).containsExactly(0f, 0f, -1f);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PlyWriter.writePointCloud(g, List.of(), out);
    Ply ply = Ply.parse(out.toByteArray());
    assertThat(ply.properties()).containsExactly("x", "y", "z", "red", "green", "blue", "nx", "ny", "nz");
    assertThat(ply.vertices()).isEqualTo(12);
  }

  /**
   * The 2 x 1 blocks of the grid: (tl, bl, tr) = pixels (0, 3, 1) with depths (2, 2, 4): jump 2 = 1.0 x min, and
   * (tr, bl, br) = pixels (1, 3, 4), depths (4, 2, 2): the same; the right block has the invalid pixel 2.
   */
  @Test
  void meshKeepsTrianglesUpToTheDepthJumpThreshold() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PlyWriter.writeMesh(grid(false), 1.0, List.of(), out);
    Ply kept = Ply.parse(out.toByteArray());
    assertThat(kept.vertices()).isEqualTo(5);
    // vertex indices: pixel 0 -> 0, 1 -> 1, 3 -> 2, 4 -> 3, 5 -> 4
    assertThat(kept.faces()).containsExactly(new int[] {0, 2, 1}, new int[] {1, 2, 3});
    out.reset();
    PlyWriter.writeMesh(grid(false), 0.99, List.of(), out);
    assertThat(Ply.parse(out.toByteArray()).faces()).as("the discontinuity is cut").isEmpty();
  }
}
