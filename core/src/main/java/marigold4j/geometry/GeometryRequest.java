package marigold4j.geometry;

/**
 * What 3D and float outputs to write beside a prediction's usual files, and how (the {@code predict} options
 * {@code --exr}, {@code --point-cloud}, {@code --mesh}, {@code --metric-alignment}, ...). The metric reference itself
 * is per image ({@link Scene#of}).
 *
 * @param exr float32 OpenEXR of every map (and of the metric depth)
 * @param pointCloud a PLY point cloud of the depth map
 * @param mesh a PLY and a GLB mesh of the depth map
 * @param normalsFromDepth normals in the point cloud estimated from the depth (else only predicted ones)
 * @param space the alignment space of a metric reference
 * @param robust the robust (IRLS) alignment instead of plain least squares
 * @param camera the camera choice
 * @param near metres of predicted depth 0 without a metric reference
 * @param far metres of predicted depth 1 without a metric reference
 * @param maxJump the mesh's relative depth-jump threshold ({@link Mesh})
 */
public record GeometryRequest(boolean exr, boolean pointCloud, boolean mesh, boolean normalsFromDepth,
    MetricAlignment.Space space, boolean robust, Camera.Spec camera, double near, double far, double maxJump) {
  public static final double DEFAULT_NEAR = 1.0;
  public static final double DEFAULT_FAR = 10.0;

  public GeometryRequest {
    if (space == null) space = MetricAlignment.Space.DEPTH;
    if (camera == null) camera = new Camera.Spec(null, null);
    if (!(near > 0 && far > near) || !Double.isFinite(far)) {
      throw new IllegalArgumentException("--depth-range needs 0 < NEAR < FAR, got " + near + "," + far);
    }
    if (!(maxJump > 0) || !Double.isFinite(maxJump)) {
      throw new IllegalArgumentException("--mesh-max-depth-jump must be positive, got " + maxJump);
    }
  }

  /** Every output on, default camera and range (the server's downloads). */
  public static GeometryRequest everything() {
    return new GeometryRequest(true, true, true, false, MetricAlignment.Space.DEPTH, false, null, DEFAULT_NEAR,
        DEFAULT_FAR, Mesh.DEFAULT_MAX_JUMP);
  }

  /** Whether the 3D part (camera, metric depth) is needed with or without a metric reference. */
  public boolean needs3d(boolean hasReference) {
    return pointCloud || mesh || hasReference;
  }

  /** Parses {@code NEAR,FAR}. */
  public static double[] parseRange(String s) {
    String[] p = s.split(",");
    if (p.length != 2) throw new IllegalArgumentException("--depth-range needs NEAR,FAR in metres, got '" + s + "'");
    try {
      return new double[] {Double.parseDouble(p[0].trim()), Double.parseDouble(p[1].trim())};
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--depth-range needs NEAR,FAR in metres, got '" + s + "'");
    }
  }
}
