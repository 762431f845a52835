package marigold4j.geometry;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A 4000 x 3000 depth map's point cloud and meshes are streamed: the heap they need beyond the grid's own arrays is
 * bounded by the image (one int per pixel for the mesh index), not by the files (~180 MB point cloud, ~500 MB mesh
 * PLY). Peak heap is measured with the heap pools' peak usage and printed.
 */
class LargeGridTest {
  static final int W = 4000;
  static final int H = 3000;

  /** Counts bytes and discards them: memory is then the writer's own. */
  static final class Counting extends OutputStream {
    long n;

    @Override
    public void write(int b) {
      n++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      n += len;
    }
  }

  @Test
  void pointCloudAndMeshesOf4000x3000AreStreamedWithHeapBoundedByTheImage() throws Exception {
    float[] z = new float[W * H];
    byte[] rgb = new byte[3 * W * H];
    for (int v = 0; v < H; v++) {
      for (int u = 0; u < W; u++) z[v * W + u] = u < W / 2 ? 2 + v * 1e-4f : 5;   // a step: one column of cuts
    }
    DepthGrid g = new DepthGrid(W, H, z, Camera.ofFov(60, W, H, "test"), rgb, null, false);
    long gridBytes = 4L * W * H + 3L * W * H;
    long base = settledHeap();
    resetPeaks();

    Counting ply = new Counting();
    PlyWriter.writePointCloud(g, List.of("large"), ply);
    Counting mesh = new Counting();
    PlyWriter.writeMesh(g, Mesh.DEFAULT_MAX_JUMP, List.of("large"), mesh);
    Counting glb = new Counting();
    GlbWriter.writeMesh(g, Mesh.DEFAULT_MAX_JUMP, Map.of(), glb);
    long peak = peakHeap();

    long vertices = (long) W * H;
    long faces = 2L * (W - 1) * (H - 1) - 2L * (H - 1);   // the block across the step loses both triangles
    assertThat(ply.n).isGreaterThan(15 * vertices).isLessThan(15 * vertices + 1000);
    assertThat(mesh.n).isGreaterThan(15 * vertices + 13 * faces).isLessThan(15 * vertices + 13 * faces + 1000);
    assertThat(glb.n).isGreaterThan(16 * vertices + 12 * faces).isLessThan(16 * vertices + 12 * faces + 2000);
    long extra = peak - base;
    System.out.printf("LargeGridTest: %dx%d, grid arrays %d MB, files %d + %d + %d MB, peak heap %d MB above the "
        + "%d MB before writing%n", W, H, gridBytes >> 20, ply.n >> 20, mesh.n >> 20, glb.n >> 20, extra >> 20,
        base >> 20);
    // the mesh index is 4 bytes per pixel (48 MB); allow garbage between collections, far below any file's size
    assertThat(extra).as("peak heap above the grid").isLessThan(4L * W * H + (128L << 20));
  }

  private static long settledHeap() {
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  private static void resetPeaks() {
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) p.resetPeakUsage();
    }
  }

  private static long peakHeap() {
    long sum = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) sum += p.getPeakUsage().getUsed();
    }
    return sum;
  }
}
