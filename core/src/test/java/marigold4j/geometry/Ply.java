package marigold4j.geometry;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * An independent minimal reader of binary little-endian PLY for tests, written from the specification: header lines
 * up to {@code end_header}, {@code element} / {@code property} declarations, packed records.
 */
record Ply(int vertices, List<String> properties, List<String> comments, float[][] xyz, List<int[]> faces) {
  static Ply parse(byte[] b) {
    int end = new String(b, StandardCharsets.US_ASCII).indexOf("end_header\n") + "end_header\n".length();
    String[] lines = new String(b, 0, end, StandardCharsets.US_ASCII).split("\n");
    if (!lines[0].equals("ply") || !lines[1].equals("format binary_little_endian 1.0")) {
      throw new IllegalArgumentException("not binary little-endian PLY");
    }
    int vertices = 0;
    int faces = 0;
    List<String> props = new ArrayList<>();
    List<String> types = new ArrayList<>();
    List<String> comments = new ArrayList<>();
    String element = "";
    for (String l : lines) {
      String[] t = l.split(" ");
      if (t[0].equals("comment")) comments.add(l.substring(8));
      if (t[0].equals("element")) {
        element = t[1];
        if (element.equals("vertex")) vertices = Integer.parseInt(t[2]);
        if (element.equals("face")) faces = Integer.parseInt(t[2]);
      }
      if (t[0].equals("property") && element.equals("vertex")) {
        types.add(t[1]);
        props.add(t[2]);
      }
    }
    ByteBuffer v = ByteBuffer.wrap(b, end, b.length - end).slice().order(ByteOrder.LITTLE_ENDIAN);
    float[][] xyz = new float[vertices][3];
    for (int i = 0; i < vertices; i++) {
      for (int p = 0; p < types.size(); p++) {
        if (types.get(p).equals("float")) {
          float f = v.getFloat();
          if (p < 3) xyz[i][p] = f;
        } else {
          v.get();
        }
      }
    }
    List<int[]> f = new ArrayList<>();
    for (int i = 0; i < faces; i++) {
      int n = v.get() & 0xff;
      int[] idx = new int[n];
      for (int k = 0; k < n; k++) idx[k] = v.getInt();
      f.add(idx);
    }
    if (v.hasRemaining()) throw new IllegalArgumentException(v.remaining() + " bytes after the last record");
    return new Ply(vertices, props, comments, xyz, f);
  }
}
