package marigold4j.geometry;

/**
 * A depth map in metres on the pixel grid of the input image, with its camera, colours and optionally normals: the
 * source of point clouds and meshes. Nothing is expanded to per-point arrays; writers walk the grid.
 *
 * @param depth (H, W) metres; a pixel is valid when its depth is positive and finite
 * @param rgb (H, W, 3) colours of the input image, or null (written grey)
 * @param normals (3, H, W) unit normals in the camera frame (x right, y down, z forward), or null
 * @param normalsFromDepth when {@code normals} is null: estimate them from the back-projected neighbours
 */
public record DepthGrid(int width, int height, float[] depth, Camera camera, byte[] rgb, float[] normals,
    boolean normalsFromDepth) {
  public DepthGrid {
    int n = width * height;
    if (depth.length != n) throw new IllegalArgumentException(depth.length + " depths for " + width + "x" + height);
    if (rgb != null && rgb.length != 3 * n) throw new IllegalArgumentException("colours of another size");
    if (normals != null && normals.length != 3 * n) throw new IllegalArgumentException("normals of another size");
  }

  public boolean valid(int i) {
    float z = depth[i];
    return z > 0 && Float.isFinite(z);
  }

  public boolean hasNormals() {
    return normals != null || normalsFromDepth;
  }

  /** The number of valid pixels (one vertex each). */
  public long validCount() {
    long n = 0;
    for (int i = 0; i < depth.length; i++) if (valid(i)) n++;
    return n;
  }

  /** The camera-frame point of pixel {@code i} into {@code xyz}. */
  public void point(int i, float[] xyz) {
    float z = depth[i];
    xyz[0] = (float) camera.x(i % width, z);
    xyz[1] = (float) camera.y(i / width, z);
    xyz[2] = z;
  }

  /** The colour byte {@code c} (0 red, 1 green, 2 blue) of pixel {@code i}. */
  public byte color(int i, int c) {
    return rgb == null ? (byte) 128 : rgb[3 * i + c];
  }

  /**
   * The unit normal of pixel {@code i} into {@code n}: the given normals, else from depth the normalised
   * {@code ∂P/∂v × ∂P/∂u} of the back-projected neighbours (central differences, one-sided at edges and next
   * to invalid pixels), which faces the camera; zeros where no neighbour pair exists.
   */
  public void normal(int i, float[] n) {
    if (normals != null) {
      int plane = width * height;
      n[0] = normals[i];
      n[1] = normals[plane + i];
      n[2] = normals[2 * plane + i];
      return;
    }
    int u = i % width;
    int v = i / width;
    float[] du = difference(i, u > 0 ? i - 1 : -1, u + 1 < width ? i + 1 : -1);
    float[] dv = difference(i, v > 0 ? i - width : -1, v + 1 < height ? i + width : -1);
    n[0] = n[1] = n[2] = 0;
    if (du == null || dv == null) return;
    double x = (double) dv[1] * du[2] - (double) dv[2] * du[1];
    double y = (double) dv[2] * du[0] - (double) dv[0] * du[2];
    double z = (double) dv[0] * du[1] - (double) dv[1] * du[0];
    double len = Math.sqrt(x * x + y * y + z * z);
    if (!(len > 0)) return;
    n[0] = (float) (x / len);
    n[1] = (float) (y / len);
    n[2] = (float) (z / len);
  }

  private float[] difference(int i, int before, int after) {
    boolean b = before >= 0 && valid(before);
    boolean a = after >= 0 && valid(after);
    if (!a && !b) return null;
    float[] p = new float[3];
    float[] q = new float[3];
    point(a ? after : i, p);
    point(b ? before : i, q);
    return new float[] {p[0] - q[0], p[1] - q[1], p[2] - q[2]};
  }
}
