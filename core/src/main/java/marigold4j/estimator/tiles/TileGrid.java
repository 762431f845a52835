package marigold4j.estimator.tiles;

/**
 * Overlapping tiles covering a {@code width x height} image: along each axis the fewest tiles of {@code tileSize}
 * that overlap by at least {@code overlap} pixels, spread evenly so the first starts at 0 and the last ends at the
 * image's edge (an axis shorter than a tile gets one tile of its length). Each tile has a blending weight per pixel
 * ({@link #weight}).
 */
public final class TileGrid {
  /** How tiles are combined where they overlap. */
  public enum Blend {
    /**
     * A raised-cosine ramp over {@code overlap} pixels from each tile side that has a neighbour ({@code sin^2}: the
     * two ramps of an exact overlap sum to one), 1 elsewhere; never 0, so a pixel one tile covers keeps its value.
     */
    SMOOTH,
    /** Naive tiling, for comparison: each pixel from one tile only, cut in the middle of every overlap. */
    HARD
  }

  private final int width;
  private final int height;
  private final int tileSize;
  private final int overlap;
  private final int[] xs;
  private final int[] ys;

  public TileGrid(int width, int height, int tileSize, int overlap) {
    if (width < 1 || height < 1) throw new IllegalArgumentException("empty image " + width + "x" + height);
    if (tileSize < 1 || overlap < 0 || overlap >= tileSize) {
      throw new IllegalArgumentException("tile size " + tileSize + " with overlap " + overlap);
    }
    this.width = width;
    this.height = height;
    this.tileSize = tileSize;
    this.overlap = overlap;
    this.xs = starts(width, tileSize, overlap);
    this.ys = starts(height, tileSize, overlap);
  }

  /** Tile starts along an axis of {@code length}: n = ceil((L - O) / (T - O)) tiles, evenly spread. */
  static int[] starts(int length, int tile, int overlap) {
    if (length <= tile) return new int[] {0};
    int n = (int) Math.ceil((length - overlap) / (double) (tile - overlap));
    int[] s = new int[n];
    for (int i = 0; i < n; i++) s[i] = (int) Math.round(i * (length - tile) / (double) (n - 1));
    return s;
  }

  public int width() {
    return width;
  }

  public int height() {
    return height;
  }

  public int tileSize() {
    return tileSize;
  }

  public int overlap() {
    return overlap;
  }

  /** Number of tiles. */
  public int count() {
    return xs.length * ys.length;
  }

  /** Tiles across (columns). */
  public int columns() {
    return xs.length;
  }

  /** Tiles down (rows). */
  public int rows() {
    return ys.length;
  }

  /** Tile {@code i} (row-major) as {x, y, width, height} in image pixels. */
  public int[] tile(int i) {
    int cx = i % xs.length;
    int cy = i / xs.length;
    return new int[] {xs[cx], ys[cy], Math.min(tileSize, width), Math.min(tileSize, height)};
  }

  /**
   * Where naive tiling cuts between neighbouring tiles along x (columns) or y (rows): the middle of each overlap. A
   * cut at c means pixel c - 1 comes from the tile before, c from the tile after.
   */
  public int[] cuts(boolean alongX) {
    int[] s = alongX ? xs : ys;
    int len = Math.min(tileSize, alongX ? width : height);
    int[] c = new int[s.length - 1];
    for (int i = 0; i + 1 < s.length; i++) c[i] = (s[i + 1] + s[i] + len) / 2;
    return c;
  }

  /**
   * Tile {@code i}'s weights, (tile height, tile width) row-major: the product of the x and y profiles of
   * {@code blend}.
   */
  public float[] weight(int i, Blend blend) {
    int cx = i % xs.length;
    int cy = i / xs.length;
    float[] wx = profile(xs, cx, Math.min(tileSize, width), blend, cuts(true));
    float[] wy = profile(ys, cy, Math.min(tileSize, height), blend, cuts(false));
    float[] w = new float[wx.length * wy.length];
    for (int y = 0; y < wy.length; y++) {
      for (int x = 0; x < wx.length; x++) w[y * wx.length + x] = wy[y] * wx[x];
    }
    return w;
  }

  private float[] profile(int[] starts, int k, int len, Blend blend, int[] cuts) {
    float[] p = new float[len];
    boolean before = k > 0;
    boolean after = k + 1 < starts.length;
    for (int j = 0; j < len; j++) {
      if (blend == Blend.HARD) {
        int pos = starts[k] + j;
        boolean mine = (!before || pos >= cuts[k - 1]) && (!after || pos < cuts[k]);
        p[j] = mine ? 1f : 0f;
        continue;
      }
      double w = 1;
      if (before) w = Math.min(w, ramp(j));
      if (after) w = Math.min(w, ramp(len - 1 - j));
      p[j] = (float) w;
    }
    return p;
  }

  /** The raised-cosine ramp at {@code d} pixels from a tile side: sin^2(pi/2 (d + 1/2) / O) below O, else 1. */
  private double ramp(int d) {
    if (d >= overlap) return 1;
    double s = Math.sin(Math.PI / 2 * (d + 0.5) / overlap);
    return s * s;
  }
}
