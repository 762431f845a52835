package marigold4j.geometry;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Binary little-endian PLY 1.0 (the format of Greg Turk's specification, as Open3D, MeshLab and Blender read it),
 * streamed: a first pass over the grid counts the vertices (and faces), then the header and the records are written
 * through a fixed buffer, so memory is the grid's own plus, for meshes, one int per pixel.
 *
 * <p>Vertex: {@code float x, y, z} (metres, OpenCV camera frame), {@code uchar red, green, blue}, then
 * {@code float nx, ny, nz} when the grid has normals. Face: {@code list uchar int vertex_indices} (triangles).
 */
public final class PlyWriter {
  private PlyWriter() {}

  /** One vertex per valid pixel, row-major. */
  public static void writePointCloud(DepthGrid g, List<String> comments, OutputStream out) throws IOException {
    long n = g.validCount();
    LittleEndianSink s = new LittleEndianSink(out);
    s.bytes(header(g, comments, n, -1));
    writeVertices(g, s);
    s.flush();
  }

  /** The mesh of {@link Mesh}: vertices as {@link #writePointCloud}, then the kept triangles. */
  public static void writeMesh(DepthGrid g, double maxJump, List<String> comments, OutputStream out)
      throws IOException {
    int[] index = Mesh.vertexIndex(g);
    long n = g.validCount();
    long faces = Mesh.count(g, index, maxJump);
    LittleEndianSink s = new LittleEndianSink(out);
    s.bytes(header(g, comments, n, faces));
    writeVertices(g, s);
    Mesh.triangles(g, index, maxJump, (a, b, c) -> s.u8(3).i32(a).i32(b).i32(c));
    s.flush();
  }

  static byte[] header(DepthGrid g, List<String> comments, long vertices, long faces) {
    StringBuilder h = new StringBuilder("ply\nformat binary_little_endian 1.0\n");
    for (String c : comments) h.append("comment ").append(c.replace('\n', ' ').replace('\r', ' ')).append('\n');
    h.append("element vertex ").append(vertices).append('\n');
    h.append("property float x\nproperty float y\nproperty float z\n");
    h.append("property uchar red\nproperty uchar green\nproperty uchar blue\n");
    if (g.hasNormals()) h.append("property float nx\nproperty float ny\nproperty float nz\n");
    if (faces >= 0) h.append("element face ").append(faces).append("\nproperty list uchar int vertex_indices\n");
    h.append("end_header\n");
    return h.toString().getBytes(StandardCharsets.US_ASCII);
  }

  private static void writeVertices(DepthGrid g, LittleEndianSink s) throws IOException {
    float[] p = new float[3];
    float[] n = new float[3];
    boolean normals = g.hasNormals();
    int size = g.width() * g.height();
    for (int i = 0; i < size; i++) {
      if (!g.valid(i)) continue;
      g.point(i, p);
      s.f32(p[0]).f32(p[1]).f32(p[2]);
      s.u8(g.color(i, 0)).u8(g.color(i, 1)).u8(g.color(i, 2));
      if (normals) {
        g.normal(i, n);
        s.f32(n[0]).f32(n[1]).f32(n[2]);
      }
    }
  }
}
