package marigold4j.geometry;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import marigold4j.eval.normals.NormalFrame;
import marigold4j.eval.normals.NormalMap;
import marigold4j.image.PilImage;
import marigold4j.image.PilResize;
import marigold4j.pipeline.Prediction;

/**
 * The geometry of one predicted image, computed once before any file is written (so an error leaves nothing
 * half-done): its camera, its depth in metres (aligned to a metric reference, else mapped by the depth range), colours
 * and normals on the input's pixel grid. {@link marigold4j.estimator.OutputFormats} encodes its files from it.
 */
public final class Scene {
  private final GeometryRequest request;
  private final DepthGrid grid;
  private final MetricAlignment.Fit fit;
  private final String reference;

  private Scene(GeometryRequest request, DepthGrid grid, MetricAlignment.Fit fit, String reference) {
    this.request = request;
    this.grid = grid;
    this.fit = fit;
    this.reference = reference;
  }

  /**
   * @param depth the predicted depth map (values in [0, 1] as {@code predict}'s {@code .npy}), or null
   * @param normals predicted normals (the models' left-up-back frame, {@link NormalFrame#LUB}), or null
   * @param image the decoded input (its size is the output grid; its colours colour the points)
   * @param exif35mm the input's EXIF 35 mm-equivalent focal length, if any
   * @param ref the metric reference, or null
   * @throws IllegalArgumentException naming the reference file for a size mismatch or a failed alignment, or when 3D
   *     outputs are asked of a prediction without depth
   */
  public static Scene of(GeometryRequest request, Prediction depth, Prediction normals, PilImage image,
      OptionalDouble exif35mm, MetricReference ref) {
    if (!request.needs3d(ref != null)) return new Scene(request, null, null, null);
    if (depth == null) {
      throw new IllegalArgumentException("--point-cloud, --mesh and --metric-depth need a depth map; this checkpoint "
          + "predicts none");
    }
    int w = image.width();
    int h = image.height();
    float[] d = depth.values();
    if (depth.width() != w || depth.height() != h) d = PilResize.resizeFloat(d, depth.width(), depth.height(), w, h);
    float[] metric;
    MetricAlignment.Fit fit = null;
    if (ref != null) {
      if (ref.width() != w || ref.height() != h) {
        throw new IllegalArgumentException(ref.source() + ": the metric reference is " + ref.width() + "x"
            + ref.height() + ", the input image " + w + "x" + h + " (it must be the input's size)");
      }
      fit = MetricAlignment.fit(d, ref.depth(), h, w, request.space(), request.robust(), ref.source());
      metric = MetricAlignment.apply(d, fit, ref.source());
    } else {
      metric = new float[d.length];
      double span = request.far() - request.near();
      for (int i = 0; i < d.length; i++) metric[i] = (float) (request.near() + d[i] * span);
    }
    float[] n = null;
    if (normals != null && !request.normalsFromDepth()) n = cameraNormals(normals, w, h);
    Camera camera = request.camera().resolve(w, h, exif35mm);
    DepthGrid grid = new DepthGrid(w, h, metric, camera, image.rgbPixels(), n, n == null && request.normalsFromDepth());
    return new Scene(request, grid, fit, ref == null ? null : ref.source());
  }

  /** Predicted normals in the OpenCV camera frame on the input grid (resized and renormalised if needed). */
  private static float[] cameraNormals(Prediction normals, int w, int h) {
    NormalMap m = NormalFrame.LUB.convert(new NormalMap(normals.height(), normals.width(), normals.values()),
        NormalFrame.RDF);
    float[] chw = m.chw();
    if (normals.width() == w && normals.height() == h) return chw;
    int plane = normals.width() * normals.height();
    float[] out = new float[3 * w * h];
    for (int c = 0; c < 3; c++) {
      float[] r = PilResize.resizeFloat(java.util.Arrays.copyOfRange(chw, c * plane, (c + 1) * plane),
          normals.width(), normals.height(), w, h);
      System.arraycopy(r, 0, out, c * w * h, w * h);
    }
    for (int i = 0; i < w * h; i++) {
      double len = Math.sqrt(out[i] * out[i] + out[w * h + i] * out[w * h + i] + out[2 * w * h + i]
          * out[2 * w * h + i]);
      if (len > 0) for (int c = 0; c < 3; c++) out[c * w * h + i] /= (float) len;
    }
    return out;
  }

  public GeometryRequest request() {
    return request;
  }

  /** The grid in metres, or null when only float maps were asked for. */
  public DepthGrid grid() {
    return grid;
  }

  /** The metric alignment, or null without a reference. */
  public MetricAlignment.Fit fit() {
    return fit;
  }

  /** The camera, or null when only float maps were asked for. */
  public Camera camera() {
    return grid == null ? null : grid.camera();
  }

  /** Whether the depth is in metres from a reference (else its scale is arbitrary). */
  public boolean metric() {
    return fit != null;
  }

  /** One line on the depth's units, for file headers. */
  public String units() {
    return metric()
        ? String.format(Locale.ROOT, "metres: %s alignment to %s, scale %.6g shift %.6g (%s), rmse %.4g m",
            fit.space().cliName(), reference, fit.scale(), fit.shift(), fit.method(), fit.rmseM())
        : String.format(Locale.ROOT, "arbitrary scale: relative depth mapped to %s..%s m by --depth-range, not "
            + "metric", request.near(), request.far());
  }

  /** The PLY header comments. */
  public List<String> plyComments() {
    List<String> c = new ArrayList<>();
    c.add("marigold4j depth: OpenCV camera frame (x right, y down, z forward)");
    c.add("units " + units());
    c.add("camera " + camera().describe());
    return c;
  }

  /** The camera and units as a map (GLB {@code asset.extras}, the metric JSON). */
  public Map<String, Object> metadata() {
    Map<String, Object> m = new LinkedHashMap<>();
    Camera cam = camera();
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("fx", cam.fx());
    c.put("fy", cam.fy());
    c.put("cx", cam.cx());
    c.put("cy", cam.cy());
    c.put("width", cam.width());
    c.put("height", cam.height());
    c.put("source", cam.source());
    m.put("camera", c);
    m.put("units", units());
    m.put("frame", "glTF: x right, y up, z towards the viewer (OpenCV camera frame with y and z negated)");
    return m;
  }

  /**
   * The sidecar JSON of the metric alignment: scale, shift, space, points, rmse_m, abs_rel, the method, the reference
   * and the camera; null without a reference.
   */
  public byte[] metricJson() {
    if (fit == null) return null;
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("scale", fit.scale());
    m.put("shift", fit.shift());
    m.put("space", fit.space().cliName());
    m.put("points", fit.points());
    m.put("rmse_m", fit.rmseM());
    m.put("abs_rel", fit.absRel());
    m.put("method", fit.method());
    m.put("inliers", fit.inliers());
    m.put("reference", reference);
    m.put("camera", metadata().get("camera"));
    try {
      return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(m);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The metric depth map (metres, 0 = invalid), or null without a reference. */
  public float[] metricDepth() {
    return fit == null ? null : grid.depth();
  }

  /** The EXR {@code comments} attribute of a map's file. */
  public String exrComment(String map) {
    return "marigold4j " + map + (grid == null ? "" : "; " + units() + "; camera " + camera().describe());
  }

  /** Writes the point cloud PLY. */
  public void writePointCloud(OutputStream out) throws IOException {
    PlyWriter.writePointCloud(grid, plyComments(), out);
  }

  /** Writes the mesh PLY. */
  public void writeMeshPly(OutputStream out) throws IOException {
    List<String> c = plyComments();
    c.add(String.format(Locale.ROOT, "mesh triangles dropped where max(z) - min(z) > %s * min(z)", request.maxJump()));
    PlyWriter.writeMesh(grid, request.maxJump(), c, out);
  }

  /** Writes the GLB mesh. */
  public void writeGlb(OutputStream out) throws IOException {
    Map<String, Object> extras = metadata();
    extras.put("max_depth_jump", request.maxJump());
    GlbWriter.writeMesh(grid, request.maxJump(), extras, out);
  }
}
