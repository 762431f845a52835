package marigold4j.estimator.tiles;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.image.PilImage;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Precision;
import marigold4j.pipeline.Prediction;
import marigold4j.random.NoiseSource;

/**
 * A fake estimator for tiling tests: it predicts known fields over the whole image, so what tiling does to them is
 * visible. The image encodes each pixel's position (R, G: x, y mod 256; B: their high bits), so a tile's call knows
 * where the tile lies. The first call, the global prediction of the downscaled image, gets the field itself at the full
 * image's size (tiling samples the global map at whatever size it comes); a tile's depth is distorted as a
 * real model's is, by an affine map per tile, (f - shift) / scale (recorded in {@link #tiles}), plus an optional tilt
 * across the tile that no affine alignment removes; a tile's normals optionally rotated about z by a per-tile angle.
 */
final class MapEstimator implements Estimator {
  /** One tile call: where it was and the distortion it got. */
  record TileCall(int x, int y, int width, int height, double scale, double shift) {}

  final List<TileCall> tiles = new ArrayList<>();
  /** Calls made, the global one included. */
  int calls;
  private final Random random = new Random(19);
  private final double tilt;
  private final double rotation;
  private final boolean affine;
  private final int width;
  private final int height;

  /**
   * @param affine whether tiles get a random scale in [0.5, 2] and shift in [-0.5, 0.5]
   * @param tilt the amplitude of a random tilt across each tile's depth (0 for none)
   * @param rotation the amplitude (radians) of each tile's random rotation of the normals (0 for none)
   */
  MapEstimator(int width, int height, boolean affine, double tilt, double rotation) {
    this.width = width;
    this.height = height;
    this.affine = affine;
    this.tilt = tilt;
    this.rotation = rotation;
  }

  /** The depth field at image pixel (x, y): smooth shapes plus a fine texture, in [0.1, 0.9]. */
  static double depth(int x, int y) {
    double texture = 0.02 * Math.sin(1.7 * x + 0.3 * y) * Math.cos(1.3 * y - 0.4 * x);
    return 0.5 + 0.3 * Math.sin(x / 37.0) * Math.cos(y / 23.0) + texture;
  }

  /** The normal field at (x, y): a unit vector facing the camera, tilted by a smooth bump. */
  static double[] normal(int x, int y) {
    double nx = 0.4 * Math.sin(x / 29.0);
    double ny = 0.3 * Math.cos(y / 17.0);
    double n = Math.sqrt(nx * nx + ny * ny + 1);
    return new double[] {nx / n, ny / n, 1 / n};
  }

  /** An image of w x h whose pixels encode their positions. */
  static PilImage positions(int w, int h) {
    byte[] px = new byte[w * h * 3];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int i = 3 * (y * w + x);
        px[i] = (byte) x;
        px[i + 1] = (byte) y;
        px[i + 2] = (byte) ((x >> 8) | (y >> 8) << 4);
      }
    }
    return new PilImage(PilImage.Mode.RGB, w, h, px);
  }

  @Override
  public DensePrediction predict(PilImage image, EstimatorSettings settings, NoiseSource noise) {
    boolean global = calls++ == 0;
    int x0 = global ? 0 : image.sample(0, 0, 0) | (image.sample(0, 0, 2) & 0xf) << 8;
    int y0 = global ? 0 : image.sample(0, 0, 1) | (image.sample(0, 0, 2) >> 4) << 8;
    int w = global ? width : image.width();
    int h = global ? height : image.height();
    double scale = global || !affine ? 1 : 0.5 + 1.5 * random.nextDouble();
    double shift = global || !affine ? 0 : random.nextDouble() - 0.5;
    double slope = global ? 0 : tilt * (2 * random.nextDouble() - 1);
    double angle = global ? 0 : rotation * (2 * random.nextDouble() - 1);
    if (!global) tiles.add(new TileCall(x0, y0, w, h, scale, shift));
    float[] d = new float[w * h];
    float[] n = new float[3 * w * h];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        double v = depth(x0 + x, y0 + y) + slope * (x - w / 2.0) / w;
        d[y * w + x] = (float) ((v - shift) / scale);
        double[] nv = normal(x0 + x, y0 + y);
        double c = Math.cos(angle);
        double s = Math.sin(angle);
        n[y * w + x] = (float) (c * nv[0] - s * nv[1]);
        n[w * h + y * w + x] = (float) (s * nv[0] + c * nv[1]);
        n[2 * w * h + y * w + x] = (float) nv[2];
      }
    }
    Map<Modality, Prediction> maps = new LinkedHashMap<>();
    maps.put(Modality.DEPTH, Prediction.of(Modality.DEPTH, h, w, d, null, null, null));
    maps.put(Modality.NORMALS, Prediction.of(Modality.NORMALS, h, w, n, null, null, null));
    return new DensePrediction(maps, DensePrediction.Convention.RUN_INFER_PY);
  }

  @Override
  public String family() {
    return "fake";
  }

  @Override
  public List<Modality> maps() {
    return List.of(Modality.DEPTH, Modality.NORMALS);
  }

  @Override
  public EstimatorSettings defaults() {
    return EstimatorSettings.builder().processingRes(64).build();
  }

  @Override
  public NoiseSource seeded(long seed) {
    return null;
  }

  @Override
  public Precision precision() {
    return Precision.FP32;
  }

  @Override
  public Path checkpoint() {
    return null;
  }

  @Override
  public void close() {}
}
