package marigold4j.geometry;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The {@link Mesh} of a depth grid as binary glTF 2.0 (GLB), for browsers (three.js, model-viewer) and Blender,
 * streamed after a counting pass (the header needs the lengths and the position bounds).
 *
 * <p>glTF's frame is y up, z towards the viewer, so a camera-frame point {@code (x, y, z)} (OpenCV: y down, z
 * forward) is stored as {@code (x, -y, -z)}: the camera sits at the origin looking down -z, as a glTF camera does.
 * One buffer: positions (VEC3 float), colours ({@code COLOR_0}, VEC4 normalized unsigned bytes, alpha 255, the input's
 * sRGB values as they are), triangle indices (unsigned int). A grid without triangles becomes a point primitive.
 */
public final class GlbWriter {
  private static final int MAGIC = 0x46546C67;       // "glTF"
  private static final int CHUNK_JSON = 0x4E4F534A;
  private static final int CHUNK_BIN = 0x004E4942;

  private GlbWriter() {}

  /**
   * @param extras put in {@code asset.extras} (camera, units)
   * @throws IllegalArgumentException when the grid has no valid pixel or the file would exceed GLB's 4 GiB
   */
  public static void writeMesh(DepthGrid g, double maxJump, Map<String, Object> extras, OutputStream out)
      throws IOException {
    int[] index = Mesh.vertexIndex(g);
    long vertices = g.validCount();
    if (vertices == 0) throw new IllegalArgumentException("no valid depth: nothing to mesh");
    long faces = Mesh.count(g, index, maxJump);
    float[] min = {Float.MAX_VALUE, Float.MAX_VALUE, Float.MAX_VALUE};
    float[] max = {-Float.MAX_VALUE, -Float.MAX_VALUE, -Float.MAX_VALUE};
    float[] p = new float[3];
    int size = g.width() * g.height();
    for (int i = 0; i < size; i++) {
      if (!g.valid(i)) continue;
      gltfPoint(g, i, p);
      for (int c = 0; c < 3; c++) {
        min[c] = Math.min(min[c], p[c]);
        max[c] = Math.max(max[c], p[c]);
      }
    }
    long posBytes = 12 * vertices;
    long colBytes = 4 * vertices;
    long idxBytes = 12 * faces;
    long binBytes = posBytes + colBytes + idxBytes;
    byte[] json = json(vertices, faces, min, max, posBytes, colBytes, idxBytes, extras);
    long total = 12 + 8 + json.length + 8 + binBytes;
    if (total > 0xFFFFFFFFL) throw new IllegalArgumentException("the mesh needs " + total + " bytes, over GLB's 4 GiB");

    LittleEndianSink s = new LittleEndianSink(out);
    s.i32(MAGIC).i32(2).i32((int) total);
    s.i32(json.length).i32(CHUNK_JSON).bytes(json);
    s.i32((int) binBytes).i32(CHUNK_BIN);
    for (int i = 0; i < size; i++) {
      if (!g.valid(i)) continue;
      gltfPoint(g, i, p);
      s.f32(p[0]).f32(p[1]).f32(p[2]);
    }
    for (int i = 0; i < size; i++) {
      if (g.valid(i)) s.u8(g.color(i, 0)).u8(g.color(i, 1)).u8(g.color(i, 2)).u8(255);
    }
    Mesh.triangles(g, index, maxJump, (a, b, c) -> s.i32(a).i32(b).i32(c));
    s.flush();
  }

  private static void gltfPoint(DepthGrid g, int i, float[] p) {
    g.point(i, p);
    p[1] = -p[1];
    p[2] = -p[2];
  }

  private static byte[] json(long vertices, long faces, float[] min, float[] max, long posBytes, long colBytes,
      long idxBytes, Map<String, Object> extras) {
    ObjectMapper m = new ObjectMapper();
    ObjectNode root = m.createObjectNode();
    ObjectNode asset = root.putObject("asset").put("version", "2.0").put("generator", "marigold4j");
    if (extras != null && !extras.isEmpty()) asset.set("extras", m.valueToTree(extras));
    root.put("scene", 0);
    root.putArray("scenes").addObject().putArray("nodes").add(0);
    root.putArray("nodes").addObject().put("mesh", 0);
    ObjectNode prim = root.putArray("meshes").addObject().putArray("primitives").addObject();
    prim.putObject("attributes").put("POSITION", 0).put("COLOR_0", 1);
    if (faces > 0) prim.put("indices", 2).put("mode", 4);
    else prim.put("mode", 0);
    root.putArray("buffers").addObject().put("byteLength", posBytes + colBytes + idxBytes);
    ArrayNode views = root.putArray("bufferViews");
    views.addObject().put("buffer", 0).put("byteOffset", 0).put("byteLength", posBytes).put("target", 34962);
    views.addObject().put("buffer", 0).put("byteOffset", posBytes).put("byteLength", colBytes).put("target", 34962);
    if (faces > 0) {
      views.addObject().put("buffer", 0).put("byteOffset", posBytes + colBytes).put("byteLength", idxBytes)
          .put("target", 34963);
    }
    ArrayNode acc = root.putArray("accessors");
    ObjectNode pos = acc.addObject().put("bufferView", 0).put("componentType", 5126).put("count", vertices)
        .put("type", "VEC3");
    ArrayNode mn = pos.putArray("min");
    ArrayNode mx = pos.putArray("max");
    for (int c = 0; c < 3; c++) {
      mn.add(min[c]);
      mx.add(max[c]);
    }
    acc.addObject().put("bufferView", 1).put("componentType", 5121).put("normalized", true).put("count", vertices)
        .put("type", "VEC4");
    if (faces > 0) {
      acc.addObject().put("bufferView", 2).put("componentType", 5125).put("count", 3 * faces).put("type", "SCALAR");
    }
    byte[] text = root.toString().getBytes(StandardCharsets.UTF_8);
    int padded = (text.length + 3) / 4 * 4;
    byte[] out = java.util.Arrays.copyOf(text, padded);
    for (int i = text.length; i < padded; i++) out[i] = ' ';
    return out;
  }

  /** The JSON chunk and the binary chunk of a GLB file, for readers and tests. */
  public record Parsed(String json, ByteBuffer bin) {}

  /** Splits a GLB file into its chunks, checking the header. */
  public static Parsed parse(byte[] glb) {
    ByteBuffer b = ByteBuffer.wrap(glb).order(ByteOrder.LITTLE_ENDIAN);
    if (b.getInt() != MAGIC || b.getInt() != 2 || b.getInt() != glb.length) {
      throw new IllegalArgumentException("not a GLB 2.0 file of " + glb.length + " bytes");
    }
    int jsonLen = b.getInt();
    if (b.getInt() != CHUNK_JSON) throw new IllegalArgumentException("GLB without a JSON chunk first");
    String json = new String(glb, 20, jsonLen, StandardCharsets.UTF_8);
    b.position(20 + jsonLen);
    int binLen = b.getInt();
    if (b.getInt() != CHUNK_BIN) throw new IllegalArgumentException("GLB without a BIN chunk second");
    ByteBuffer bin = ByteBuffer.wrap(glb, b.position(), binLen).slice().order(ByteOrder.LITTLE_ENDIAN);
    return new Parsed(json, bin);
  }
}
