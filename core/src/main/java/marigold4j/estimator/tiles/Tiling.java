package marigold4j.estimator.tiles;

import java.util.LinkedHashMap;
import java.util.Map;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.image.PilImage;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Prediction;
import marigold4j.random.NoiseSource;
import marigold4j.torch.Scopes;
import org.bytedeco.javacpp.PointerScope;

/**
 * Tiled high-resolution inference around any {@link Estimator}: a global prediction of the whole image at the
 * processing resolution, then overlapping tiles of the input at its native resolution (a {@link TileGrid}), each
 * predicted by the estimator at processing resolution = tile size, so the model sees native detail.
 *
 * <ul>
 *   <li>Depth (affine-invariant) of each tile is aligned to the global prediction: the least-squares scale and shift
 *       ({@link AffineFit}) of the tile's values onto the global map bilinearly upsampled over the tile's area. The
 *       result is clamped to the global map's range, so a depth map stays in [0, 1] where the family's is.</li>
 *   <li>Normals are blended as vectors, weighted before summing, and normalised once at the end, to the weighted
 *       mean of the tiles' lengths (1 for unit normals; no per-tile renormalisation, no vectors shortened where
 *       tiles disagree).</li>
 *   <li>Every other map (intrinsics) and every uncertainty is blended with the same weights; a depth uncertainty is
 *       scaled by its tile's alignment scale.</li>
 * </ul>
 *
 * The weights are {@link TileGrid.Blend#SMOOTH}: a raised-cosine ramp over the overlap, never 0. An ensemble
 * ({@code ensembleSize}) runs per tile, inside the estimator. Memory is bounded by the tile: one tile's tensors at a
 * time (a native-memory scope per tile); the image-sized state is plain float arrays (the weighted sums, one weight
 * sum) and the global prediction at processing resolution.
 *
 * <p>An image whose long edge is not larger than the processing resolution (or a processing resolution of 0, the
 * native resolution) is predicted untiled: exactly {@code estimator.predict}'s result.
 */
public final class Tiling {
  /** Tile progress of one image. */
  public interface Listener {
    /** Tiling starts: the grid, before the global prediction. */
    void start(TileGrid grid);

    /** One more tile is blended in. */
    void tileDone();

    Listener NONE = new Listener() {
      @Override
      public void start(TileGrid grid) {}

      @Override
      public void tileDone() {}
    };
  }

  private final boolean align;
  private final TileGrid.Blend blend;

  /**
   * A tiler.
   *
   * @param align whether depth tiles are aligned to the global prediction (off only to show what it does)
   * @param blend how overlapping tiles are combined ({@link TileGrid.Blend#HARD} only to show what it does)
   */
  public Tiling(boolean align, TileGrid.Blend blend) {
    this.align = align;
    this.blend = blend;
  }

  /** The tiler {@code predict --tiles} uses: aligned, smooth. */
  public static Tiling standard() {
    return new Tiling(true, TileGrid.Blend.SMOOTH);
  }

  /**
   * {@code estimator.predict}, tiled when {@code settings.tiles()} is set and the image is larger than the
   * processing resolution.
   */
  public static DensePrediction predict(Estimator estimator, PilImage image, EstimatorSettings settings,
      NoiseSource noise) {
    return predict(estimator, image, settings, noise, Listener.NONE);
  }

  /** As {@link #predict(Estimator, PilImage, EstimatorSettings, NoiseSource)}, reporting tile progress. */
  public static DensePrediction predict(Estimator estimator, PilImage image, EstimatorSettings settings,
      NoiseSource noise, Listener listener) {
    if (settings.tiles() == null) return estimator.predict(image, settings, noise);
    return standard().run(estimator, image, settings, noise, listener);
  }

  /**
   * The grid {@code settings} give an image of {@code width x height}, or null when the call is not tiled (no tiles
   * asked, native processing resolution, or an image not larger than the processing resolution).
   */
  public static TileGrid grid(Estimator estimator, int width, int height, EstimatorSettings settings) {
    if (settings.tiles() == null) return null;
    return grid(width, height, processingRes(estimator, settings), settings.tiles());
  }

  /** The grid for a processing resolution, or null when the call is not tiled (see above). */
  public static TileGrid grid(int width, int height, int processingRes, TileSettings tiles) {
    if (tiles == null || processingRes <= 0 || Math.max(width, height) <= processingRes) return null;
    int size = tiles.sizeFor(processingRes);
    if (size < TileSettings.MIN_SIZE) {
      throw new IllegalArgumentException("tile size " + size + " px (the processing resolution) is below "
          + TileSettings.MIN_SIZE + " px: give --tile-size");
    }
    return new TileGrid(width, height, size, tiles.overlapFor(size));
  }

  /**
   * Pixels the model runs over for a tiled call: the global prediction's plus every tile's (the work of
   * {@link marigold4j.estimator.WorkBudget#work} counts them all).
   */
  public static long workPixels(TileGrid grid, int processingRes) {
    long tiles = (long) grid.count() * Math.min(grid.tileSize(), grid.width()) * Math.min(grid.tileSize(),
        grid.height());
    return marigold4j.estimator.WorkBudget.processingPixels(grid.width(), grid.height(), processingRes) + tiles;
  }

  /** The largest single call of a tiled call, in processing pixels: the global prediction or one tile. */
  public static long peakPixels(TileGrid grid, int processingRes) {
    return Math.max(marigold4j.estimator.WorkBudget.processingPixels(grid.width(), grid.height(), processingRes),
        (long) Math.min(grid.tileSize(), grid.width()) * Math.min(grid.tileSize(), grid.height()));
  }

  /**
   * Bytes of the image-sized state of a tiled call: per map and pixel its channels, an uncertainty of as many, the
   * normals' lengths, the weight sum and the visualisation's 3 bytes, 4 bytes each (about 40 bytes per pixel for
   * one three-channel map).
   */
  public static long stateBytes(TileGrid grid, java.util.List<Modality> maps) {
    long perPixel = 4;                                     // the weight sum
    for (Modality m : maps) perPixel += 4L * (2 * m.channels() + 1) + 3;
    return perPixel * grid.width() * grid.height();
  }

  private static int processingRes(Estimator estimator, EstimatorSettings settings) {
    Integer res = settings.processingRes() != null ? settings.processingRes() : estimator.defaults().processingRes();
    return res == null ? 0 : res;
  }

  /** Tiled (when the image is larger than the processing resolution) with this tiler's alignment and blending. */
  public DensePrediction run(Estimator estimator, PilImage image, EstimatorSettings settings, NoiseSource noise,
      Listener listener) {
    EstimatorSettings untiled = settings.toBuilder().tiles(null).build();
    TileGrid grid = grid(image.width(), image.height(), processingRes(estimator, settings),
        settings.tiles() != null ? settings.tiles() : TileSettings.DEFAULT);
    if (grid == null) return estimator.predict(image, untiled, noise);
    return run(estimator, image, untiled, noise, grid, listener);
  }

  /** Tiled over {@code grid} whatever the image's size (a one-tile grid included). */
  public DensePrediction run(Estimator estimator, PilImage image, EstimatorSettings settings, NoiseSource noise,
      TileGrid grid, Listener listener) {
    if (Boolean.TRUE.equals(settings.outputLatent()) || settings.latents() != null) {
      throw new IllegalArgumentException("--output-latent and --latents work on the whole image's latent; they "
          + "cannot be combined with --tiles");
    }
    if (grid.width() != image.width() || grid.height() != image.height()) {
      throw new IllegalArgumentException("a " + grid.width() + "x" + grid.height() + " grid for a " + image.width()
          + "x" + image.height() + " image");
    }
    listener.start(grid);
    int w = image.width();
    int h = image.height();
    // the global prediction: the whole image at the processing resolution (resized here, so the family returns a
    // map of that size whatever its matchInputRes rules are; it is sampled where a tile needs it)
    Map<Modality, Global> global = new LinkedHashMap<>();
    DensePrediction.Convention convention;
    int res = grid.tileSize();
    try (PointerScope scope = new PointerScope()) {
      int gres = processingRes(estimator, settings);
      PilImage small = downscaled(image, gres > 0 ? gres : res);
      DensePrediction g = estimator.predict(small, settings.toBuilder().processingRes(Math.max(small.width(),
          small.height())).matchInputRes(true).tiles(null).build(), noise);
      convention = g.convention();
      for (Modality m : g.names()) global.put(m, new Global(g.map(m)));
    }
    Scopes.returnFreedMemory();
    Map<Modality, Accumulator> acc = new LinkedHashMap<>();
    for (Modality m : global.keySet()) acc.put(m, new Accumulator(m, w, h));
    float[] weightSum = new float[w * h];
    for (int i = 0; i < grid.count(); i++) {
      int[] t = grid.tile(i);                               // {x, y, width, height}
      float[] weight = grid.weight(i, blend);               // (th, tw)
      DensePrediction p;
      try (PointerScope scope = new PointerScope()) {
        p = estimator.predict(crop(image, t), settings.toBuilder().processingRes(Math.max(t[2], t[3]))
            .matchInputRes(true).tiles(null).build(), noise);
      }
      for (Modality m : global.keySet()) {
        Prediction tp = p.map(m);
        float[] v = resized(tp.values(), m.channels(), tp.height(), tp.width(), t[3], t[2]);
        AffineFit fit = AffineFit.IDENTITY;
        if (m == Modality.DEPTH && align) {
          fit = AffineFit.fit(v, global.get(m).sample(t, w, h));
          for (int k = 0; k < v.length; k++) v[k] = fit.apply(v[k]);
        }
        float[] u = tp.uncertainty();
        if (u != null) {
          int[] us = tp.uncertaintyShape();                  // {h, w} or {C, h, w}
          int uh = us[us.length - 2];
          int uw = us[us.length - 1];
          u = resized(u, u.length / (uh * uw), uh, uw, t[3], t[2]);
          float s = (float) Math.abs(fit.scale());
          if (s != 1f) for (int k = 0; k < u.length; k++) u[k] *= s;
        }
        acc.get(m).add(t, weight, v, u, w);
      }
      for (int y = 0; y < t[3]; y++) {
        for (int x = 0; x < t[2]; x++) weightSum[(t[1] + y) * w + t[0] + x] += weight[y * t[2] + x];
      }
      Scopes.returnFreedMemory();
      listener.tileDone();
    }
    Map<Modality, Prediction> maps = new LinkedHashMap<>();
    for (Map.Entry<Modality, Accumulator> e : acc.entrySet()) {
      Modality m = e.getKey();
      Accumulator a = e.getValue();
      a.normalise(weightSum);
      if (m == Modality.NORMALS) a.directionsWithBlendedLengths();
      if (m == Modality.DEPTH && align) a.clamp(global.get(m).min, global.get(m).max);
      maps.put(m, estimator.present(m, h, w, a.values, a.uncertainty, settings));
      e.setValue(null);                                     // the sums are the map now; let them go when done
    }
    return new DensePrediction(maps, convention);
  }

  /** {@code image} with its long edge {@code longEdge} (Pillow's resize; itself when it is not larger). */
  static PilImage downscaled(PilImage image, int longEdge) {
    int max = Math.max(image.width(), image.height());
    if (max <= longEdge) return image;
    int w = Math.max(1, (int) Math.round((double) image.width() * longEdge / max));
    int h = Math.max(1, (int) Math.round((double) image.height() * longEdge / max));
    // 16-bit grey is held clipped to 8 bits already: resize it as the 8-bit grey it is
    PilImage src = image.mode() == PilImage.Mode.I ? new PilImage(PilImage.Mode.L, image.width(), image.height(),
        image.pixels()) : image;
    return marigold4j.image.PilResize.resize(src, w, h);
  }

  /** The pixels of tile {x, y, width, height} as an image of the same mode. */
  static PilImage crop(PilImage image, int[] t) {
    int bands = image.mode().bands();
    byte[] src = image.pixels();
    byte[] px = new byte[t[2] * t[3] * bands];
    for (int y = 0; y < t[3]; y++) {
      System.arraycopy(src, ((t[1] + y) * image.width() + t[0]) * bands, px, y * t[2] * bands, t[2] * bands);
    }
    return new PilImage(image.mode(), t[2], t[3], px);
  }

  /** (C, h, w) values resampled bilinearly to (C, th, tw); the array itself when the size is already right. */
  static float[] resized(float[] v, int channels, int h, int w, int th, int tw) {
    if (h == th && w == tw) return v;
    float[] out = new float[channels * th * tw];
    for (int c = 0; c < channels; c++) {
      for (int y = 0; y < th; y++) {
        for (int x = 0; x < tw; x++) {
          out[(c * th + y) * tw + x] = bilinear(v, c, h, w, (y + 0.5) * h / th - 0.5, (x + 0.5) * w / tw - 0.5);
        }
      }
    }
    return out;
  }

  /** Plane {@code c} of (C, h, w) at fractional (sy, sx), edges clamped: torch's align_corners=False sampling. */
  static float bilinear(float[] v, int c, int h, int w, double sy, double sx) {
    sy = Math.min(Math.max(sy, 0), h - 1);
    sx = Math.min(Math.max(sx, 0), w - 1);
    int y0 = (int) sy;
    int x0 = (int) sx;
    int y1 = Math.min(y0 + 1, h - 1);
    int x1 = Math.min(x0 + 1, w - 1);
    double fy = sy - y0;
    double fx = sx - x0;
    int base = c * h * w;
    double top = v[base + y0 * w + x0] * (1 - fx) + v[base + y0 * w + x1] * fx;
    double bottom = v[base + y1 * w + x0] * (1 - fx) + v[base + y1 * w + x1] * fx;
    return (float) (top * (1 - fy) + bottom * fy);
  }

  /** The global prediction of one map at its own (processing) resolution, and its range. */
  private static final class Global {
    final float[] values;
    final int height;
    final int width;
    final float min;
    final float max;

    Global(Prediction p) {
      values = p.values();
      height = p.height();
      width = p.width();
      float lo = Float.POSITIVE_INFINITY;
      float hi = Float.NEGATIVE_INFINITY;
      for (float x : values) {
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
      min = lo;
      max = hi;
    }

    /** Channel 0 over tile {x, y, tw, th} of a {@code w x h} image, upsampled bilinearly: (th, tw). */
    float[] sample(int[] t, int w, int h) {
      float[] out = new float[t[2] * t[3]];
      for (int y = 0; y < t[3]; y++) {
        double sy = (t[1] + y + 0.5) * height / h - 0.5;
        for (int x = 0; x < t[2]; x++) {
          out[y * t[2] + x] = bilinear(values, 0, height, width, sy, (t[0] + x + 0.5) * width / w - 0.5);
        }
      }
      return out;
    }
  }

  /** Weighted sums of one map (C, H, W) and of its uncertainty, image-sized plain arrays. */
  private static final class Accumulator {
    final int channels;
    final int plane;
    float[] values;
    float[] uncertainty;
    int uncertaintyChannels;
    boolean uncertaintyMissing;

    /** The weighted sum of the vectors' lengths (normals only). */
    float[] lengths;

    Accumulator(Modality map, int w, int h) {
      this.channels = map.channels();
      this.plane = w * h;
      this.values = new float[channels * plane];
      if (map == Modality.NORMALS) lengths = new float[plane];
    }

    void add(int[] t, float[] weight, float[] v, float[] u, int w) {
      int tp = t[2] * t[3];
      addPlanes(values, channels, t, weight, v, w, tp);
      if (lengths != null) {
        float[] len = new float[tp];
        for (int i = 0; i < tp; i++) {
          double x = v[i];
          double y = v[tp + i];
          double z = v[2 * tp + i];
          len[i] = (float) Math.sqrt(x * x + y * y + z * z);
        }
        addPlanes(lengths, 1, t, weight, len, w, tp);
      }
      if (u == null) {
        uncertaintyMissing = true;
        return;
      }
      if (uncertainty == null) {
        uncertaintyChannels = u.length / tp;
        uncertainty = new float[uncertaintyChannels * plane];
      }
      addPlanes(uncertainty, uncertaintyChannels, t, weight, u, w, tp);
    }

    private void addPlanes(float[] sum, int c, int[] t, float[] weight, float[] v, int w, int tp) {
      for (int k = 0; k < c; k++) {
        for (int y = 0; y < t[3]; y++) {
          int row = k * plane + (t[1] + y) * w + t[0];
          int trow = k * tp + y * t[2];
          for (int x = 0; x < t[2]; x++) sum[row + x] += weight[y * t[2] + x] * v[trow + x];
        }
      }
    }

    void normalise(float[] weightSum) {
      divide(values, channels, weightSum);
      if (lengths != null) divide(lengths, 1, weightSum);
      if (uncertaintyMissing) uncertainty = null;            // some tile had none: no uncertainty for the image
      if (uncertainty != null) divide(uncertainty, uncertaintyChannels, weightSum);
    }

    private void divide(float[] sum, int c, float[] weightSum) {
      for (int k = 0; k < c; k++) {
        for (int i = 0; i < plane; i++) sum[k * plane + i] /= weightSum[i];
      }
    }

    /**
     * Each pixel's blended vector (the weighted sum of the tiles' vectors: its direction) rescaled once to the
     * weighted mean of the tiles' lengths: unit normals stay unit vectors, and where tiles disagree the vector is not
     * shortened (the artefact of normalising or averaging per tile); a family whose normals are not unit vectors
     * (Lotus' decoded image) keeps its lengths.
     */
    void directionsWithBlendedLengths() {
      for (int i = 0; i < plane; i++) {
        double x = values[i];
        double y = values[plane + i];
        double z = values[2 * plane + i];
        double n = Math.sqrt(x * x + y * y + z * z);
        if (n == 0) continue;
        double k = lengths[i] / n;
        values[i] = (float) (x * k);
        values[plane + i] = (float) (y * k);
        values[2 * plane + i] = (float) (z * k);
      }
      lengths = null;
    }

    void clamp(float min, float max) {
      for (int i = 0; i < values.length; i++) values[i] = Math.min(max, Math.max(min, values[i]));
    }
  }
}
