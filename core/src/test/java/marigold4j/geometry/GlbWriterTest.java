package marigold4j.geometry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The GLB of the hand-checked 3 x 2 grid, read back by chunks as the glTF 2.0 specification lays them out. */
class GlbWriterTest {
  @Test
  void meshOfThe3x2GridHasTheHandComputedBuffers() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    GlbWriter.writeMesh(PlyWriterTest.grid(false), 1.0, Map.of("units", "test"), out);
    byte[] glb = out.toByteArray();
    assertThat(glb.length % 4).isZero();
    GlbWriter.Parsed p = GlbWriter.parse(glb);
    JsonNode j = new ObjectMapper().readTree(p.json());
    assertThat(j.at("/asset/version").asText()).isEqualTo("2.0");
    assertThat(j.at("/asset/extras/units").asText()).isEqualTo("test");
    assertThat(j.at("/meshes/0/primitives/0/attributes/POSITION").asInt()).isZero();
    assertThat(j.at("/accessors/0/count").asInt()).isEqualTo(5);
    assertThat(j.at("/accessors/1/count").asInt()).isEqualTo(5);
    assertThat(j.at("/accessors/2/count").asInt()).isEqualTo(6);
    // glTF frame (x, -y, -z): x in [-1, 3], y in [-0.75, 0.5], z in [-6, -2]
    assertThat(j.at("/accessors/0/min").toString()).isEqualTo("[-1.0,-0.75,-6.0]");
    assertThat(j.at("/accessors/0/max").toString()).isEqualTo("[3.0,0.5,-2.0]");
    ByteBuffer bin = p.bin();
    assertThat(bin.remaining()).isEqualTo(5 * 12 + 5 * 4 + 6 * 4);
    for (float[] v : PlyWriterTest.BY_HAND) {
      assertThat(new float[] {bin.getFloat(), bin.getFloat(), bin.getFloat()}).containsExactly(v[0], -v[1], -v[2]);
    }
    int[] pixel = {0, 1, 3, 4, 5};
    for (int k = 0; k < 5; k++) {
      for (int c = 0; c < 3; c++) assertThat(bin.get() & 0xff).isEqualTo(10 * (3 * pixel[k] + c));
      assertThat(bin.get() & 0xff).isEqualTo(255);
    }
    int[] idx = new int[6];
    for (int k = 0; k < 6; k++) idx[k] = bin.getInt();
    assertThat(idx).containsExactly(0, 2, 1, 1, 2, 3);
  }

  @Test
  void aGridWithoutTrianglesIsAPointPrimitive() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    GlbWriter.writeMesh(PlyWriterTest.grid(false), 0.5, Map.of(), out);
    JsonNode j = new ObjectMapper().readTree(GlbWriter.parse(out.toByteArray()).json());
    assertThat(j.at("/meshes/0/primitives/0/mode").asInt()).isZero();
    assertThat(j.at("/accessors").size()).isEqualTo(2);
  }
}
