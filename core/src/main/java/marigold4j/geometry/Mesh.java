package marigold4j.geometry;

import java.io.IOException;

/**
 * The triangle mesh of a depth grid: one vertex per valid pixel, two triangles per 2 x 2 block of pixels
 * ({@code (tl, bl, tr)} and {@code (tr, bl, br)}, counter-clockwise as seen from the camera), a triangle kept only
 * when its three pixels are valid and it does not span a depth discontinuity:
 * {@code max(z) - min(z) <= maxJump · min(z)} (relative depth jump, default {@value #DEFAULT_MAX_JUMP}).
 */
public final class Mesh {
  /** The default relative depth jump beyond which a triangle is dropped. */
  public static final double DEFAULT_MAX_JUMP = 0.05;

  private Mesh() {}

  /** Receives one triangle's vertex indices. */
  @FunctionalInterface
  public interface TriangleSink {
    void accept(int a, int b, int c) throws IOException;
  }

  /** Whether the triangle with depths {@code a, b, c} (all valid) is kept. */
  public static boolean keep(float a, float b, float c, double maxJump) {
    float lo = Math.min(a, Math.min(b, c));
    float hi = Math.max(a, Math.max(b, c));
    return hi - lo <= maxJump * lo;
  }

  /** The vertex index of every pixel in row-major order of the valid pixels, -1 for invalid ones. */
  public static int[] vertexIndex(DepthGrid g) {
    int[] index = new int[g.width() * g.height()];
    int next = 0;
    for (int i = 0; i < index.length; i++) index[i] = g.valid(i) ? next++ : -1;
    return index;
  }

  /** Calls {@code sink} for every kept triangle in a fixed order; returns how many there were. */
  public static long triangles(DepthGrid g, int[] index, double maxJump, TriangleSink sink) throws IOException {
    int w = g.width();
    float[] z = g.depth();
    long n = 0;
    for (int v = 0; v + 1 < g.height(); v++) {
      for (int u = 0; u + 1 < w; u++) {
        int tl = v * w + u;
        int tr = tl + 1;
        int bl = tl + w;
        int br = bl + 1;
        if (index[tl] >= 0 && index[bl] >= 0 && index[tr] >= 0 && keep(z[tl], z[bl], z[tr], maxJump)) {
          if (sink != null) sink.accept(index[tl], index[bl], index[tr]);
          n++;
        }
        if (index[tr] >= 0 && index[bl] >= 0 && index[br] >= 0 && keep(z[tr], z[bl], z[br], maxJump)) {
          if (sink != null) sink.accept(index[tr], index[bl], index[br]);
          n++;
        }
      }
    }
    return n;
  }

  /** The number of kept triangles. */
  public static long count(DepthGrid g, int[] index, double maxJump) {
    try {
      return triangles(g, index, maxJump, null);
    } catch (IOException e) {
      throw new AssertionError(e);   // no sink, no I/O
    }
  }
}
