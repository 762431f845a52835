package marigold4j.estimator.tiles;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.pipeline.Modality;
import org.junit.jupiter.api.Test;

/**
 * Tiling's blending and alignment on known fields ({@link MapEstimator}: tiles distorted as a real model's are, by a
 * per-tile scale and shift, a tilt no affine map removes, a rotation of the normals), so every property is measured
 * against the truth.
 *
 * <p>The seam measure: the mean |gradient| (|difference of neighbouring pixels|) across the lines where naive tiling
 * cuts between tiles (the middle of each overlap), divided by the mean |gradient| of every other pair of neighbours.
 * A seamless map scores about 1; a visible seam scores far above. The threshold is 1.5.
 */
class TilingTest {
  private static final int W = 300;
  private static final int H = 200;
  private static final double SEAM_THRESHOLD = 1.5;

  /** Processing resolution 64 (the fake's default), tiles of 96 px overlapping by at least 32. */
  private static final EstimatorSettings TILED = EstimatorSettings.builder()
      .tiles(new TileSettings(96, 32)).build();

  private static DensePrediction run(Tiling tiling, MapEstimator e) {
    return tiling.run(e, MapEstimator.positions(W, H), TILED, null, Tiling.Listener.NONE);
  }

  /** The seam measure of (H, W) {@code map} over {@code grid}'s cut lines (see the class comment). */
  static double seamRatio(float[] map, int w, int h, TileGrid grid) {
    boolean[] cutX = new boolean[w];
    boolean[] cutY = new boolean[h];
    for (int c : grid.cuts(true)) cutX[c] = true;
    for (int c : grid.cuts(false)) cutY[c] = true;
    double border = 0;
    double inside = 0;
    long nb = 0;
    long ni = 0;
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        if (x > 0) {
          double g = Math.abs(map[y * w + x] - map[y * w + x - 1]);
          if (cutX[x]) {
            border += g;
            nb++;
          } else {
            inside += g;
            ni++;
          }
        }
        if (y > 0) {
          double g = Math.abs(map[y * w + x] - map[(y - 1) * w + x]);
          if (cutY[y]) {
            border += g;
            nb++;
          } else {
            inside += g;
            ni++;
          }
        }
      }
    }
    return (border / nb) / (inside / ni);
  }

  private static float[] truthDepth() {
    float[] d = new float[W * H];
    for (int y = 0; y < H; y++) {
      for (int x = 0; x < W; x++) d[y * W + x] = (float) MapEstimator.depth(x, y);
    }
    return d;
  }

  @Test
  void seamsOfAlignedSmoothTilesStayBelowTheThresholdWhereNaiveTilingExceedsIt() {
    TileGrid grid = new TileGrid(W, H, 96, 32);
    assertThat(grid.columns()).isEqualTo(5);
    assertThat(grid.rows()).isEqualTo(3);
    double truth = seamRatio(truthDepth(), W, H, grid);
    double blended = seamRatio(run(Tiling.standard(), new MapEstimator(W, H, true, 0.2, 0)).map(Modality.DEPTH).values(),
        W, H, grid);
    double naive = seamRatio(run(new Tiling(false, TileGrid.Blend.HARD), new MapEstimator(W, H, true, 0.2, 0))
        .map(Modality.DEPTH).values(), W, H, grid);
    double alignedHard = seamRatio(run(new Tiling(true, TileGrid.Blend.HARD), new MapEstimator(W, H, true, 0.2, 0))
        .map(Modality.DEPTH).values(), W, H, grid);
    System.out.printf("seam ratio: truth %.3f, aligned+smooth %.3f, aligned+hard %.3f, naive %.3f%n", truth, blended,
        alignedHard, naive);
    assertThat(truth).as("the field itself has no seams").isLessThan(SEAM_THRESHOLD);
    assertThat(blended).as("aligned, smooth tiles").isLessThan(SEAM_THRESHOLD);
    assertThat(naive).as("naive tiling: no alignment, hard cuts").isGreaterThan(SEAM_THRESHOLD);
    assertThat(alignedHard).as("aligned but hard cuts (the tilts disagree)").isGreaterThan(SEAM_THRESHOLD);
  }

  @Test
  void normalSeamsStayBelowTheThresholdWhereHardCutsExceedIt() {
    TileGrid grid = new TileGrid(W, H, 96, 32);
    float[] smooth = run(Tiling.standard(), new MapEstimator(W, H, false, 0, 0.3)).map(Modality.NORMALS).values();
    float[] hard = run(new Tiling(true, TileGrid.Blend.HARD), new MapEstimator(W, H, false, 0, 0.3))
        .map(Modality.NORMALS).values();
    double s = seamRatio(java.util.Arrays.copyOf(smooth, W * H), W, H, grid);        // the x component
    double n = seamRatio(java.util.Arrays.copyOf(hard, W * H), W, H, grid);
    System.out.printf("normal seam ratio (x): smooth %.3f, hard %.3f%n", s, n);
    assertThat(s).isLessThan(SEAM_THRESHOLD);
    assertThat(n).isGreaterThan(SEAM_THRESHOLD);
  }

  @Test
  void alignmentRecoversEachTilesKnownScaleAndShift() {
    MapEstimator e = new MapEstimator(W, H, true, 0, 0);
    float[] got = run(Tiling.standard(), e).map(Modality.DEPTH).values();
    assertThat(e.tiles).hasSize(15);
    float[] truth = truthDepth();
    for (MapEstimator.TileCall t : e.tiles) {
      // what the tiler fits: the tile's values against the global map over the tile
      float[] tile = new float[t.width() * t.height()];
      float[] ref = new float[tile.length];
      for (int y = 0; y < t.height(); y++) {
        for (int x = 0; x < t.width(); x++) {
          ref[y * t.width() + x] = truth[(t.y() + y) * W + t.x() + x];
          tile[y * t.width() + x] = (float) ((MapEstimator.depth(t.x() + x, t.y() + y) - t.shift()) / t.scale());
        }
      }
      AffineFit fit = AffineFit.fit(tile, ref);
      assertThat(fit.scale()).as("scale of tile at %d,%d", t.x(), t.y()).isCloseTo(t.scale(),
          org.assertj.core.data.Offset.offset(1e-5));
      assertThat(fit.shift()).as("shift of tile at %d,%d", t.x(), t.y()).isCloseTo(t.shift(),
          org.assertj.core.data.Offset.offset(1e-5));
    }
    // and the tiler applied them: the blended map is the field itself
    assertThat(maxAbsDiff(got, truth)).isLessThan(1e-5);
  }

  @Test
  void affineFitRecoversRandomScalesAndShiftsOfARandomMap() {
    Random r = new Random(7);
    float[] ref = new float[4096];
    for (int i = 0; i < ref.length; i++) ref[i] = r.nextFloat();
    for (int k = 0; k < 20; k++) {
      double scale = 0.1 + 10 * r.nextDouble();
      double shift = 4 * r.nextDouble() - 2;
      float[] x = new float[ref.length];
      for (int i = 0; i < x.length; i++) x[i] = (float) ((ref[i] - shift) / scale);
      AffineFit fit = AffineFit.fit(x, ref);
      assertThat(fit.scale()).isCloseTo(scale, org.assertj.core.data.Offset.offset(1e-5 * scale));
      assertThat(fit.shift()).isCloseTo(shift, org.assertj.core.data.Offset.offset(1e-5));
    }
  }

  @Test
  void aFlatOrFlippedTileGetsTheShiftAlone() {
    AffineFit flat = AffineFit.fit(new float[] {2, 2, 2}, new float[] {0, 1, 2});
    assertThat(flat.scale()).isEqualTo(1);
    assertThat(flat.shift()).isEqualTo(-1);
    AffineFit flipped = AffineFit.fit(new float[] {0, 1, 2}, new float[] {2, 1, 0});
    assertThat(flipped.scale()).isEqualTo(1);
    assertThat(flipped.shift()).isEqualTo(0);
  }

  @Test
  void blendedNormalsAreUnitVectorsAndIdenticalTilesGiveTheInput() {
    float[] same = run(Tiling.standard(), new MapEstimator(W, H, false, 0, 0)).map(Modality.NORMALS).values();
    float[] rotated = run(Tiling.standard(), new MapEstimator(W, H, false, 0, 0.5)).map(Modality.NORMALS).values();
    int plane = W * H;
    double worstInput = 0;
    double worstUnit = 0;
    for (int y = 0; y < H; y++) {
      for (int x = 0; x < W; x++) {
        int i = y * W + x;
        double[] n = MapEstimator.normal(x, y);
        for (int c = 0; c < 3; c++) worstInput = Math.max(worstInput, Math.abs(same[c * plane + i] - n[c]));
        for (float[] m : new float[][] {same, rotated}) {
          double len = Math.sqrt(m[i] * m[i] + m[plane + i] * m[plane + i] + m[2 * plane + i] * m[2 * plane + i]);
          worstUnit = Math.max(worstUnit, Math.abs(len - 1));
        }
      }
    }
    assertThat(worstInput).as("overlapping identical normals blend to themselves").isLessThan(1e-6);
    assertThat(worstUnit).as("every blended normal is a unit vector").isLessThan(1e-6);
  }

  @Test
  void aOneTileGridReproducesTheEstimatorsOwnPrediction() {
    MapEstimator e = new MapEstimator(W, H, false, 0, 0);
    TileGrid one = new TileGrid(W, H, 320, 32);
    assertThat(one.count()).isEqualTo(1);
    DensePrediction tiled = Tiling.standard().run(e, MapEstimator.positions(W, H), EstimatorSettings.defaults(), null,
        one, Tiling.Listener.NONE);
    assertThat(maxAbsDiff(tiled.map(Modality.DEPTH).values(), truthDepth())).isLessThan(1e-6);
  }

  @Test
  void anImageNoLargerThanTheProcessingResolutionIsPredictedUntiled() {
    MapEstimator e = new MapEstimator(64, 40, true, 0, 0);
    DensePrediction p = Tiling.predict(e, MapEstimator.positions(64, 40),
        EstimatorSettings.builder().tiles(TileSettings.DEFAULT).build(), null);
    assertThat(e.calls).as("one plain call, no global prediction, no tiles").isEqualTo(1);
    assertThat(p.map(Modality.DEPTH).width()).isEqualTo(64);
  }

  @Test
  void gridCoversTheImageWithTheAskedOverlap() {
    for (int[] c : new int[][] {{6000, 4000, 768, 192}, {300, 200, 96, 32}, {97, 65, 64, 0}, {1000, 64, 64, 63}}) {
      TileGrid g = new TileGrid(c[0], c[1], c[2], c[3]);
      float[] sum = new float[c[0] * c[1]];
      float[] hard = new float[c[0] * c[1]];
      int[] prevX = null;
      for (int i = 0; i < g.count(); i++) {
        int[] t = g.tile(i);
        assertThat(t[0] + t[2]).isLessThanOrEqualTo(c[0]);
        assertThat(t[1] + t[3]).isLessThanOrEqualTo(c[1]);
        if (prevX != null && t[1] == prevX[1]) {
          assertThat(prevX[0] + prevX[2] - t[0]).as("overlap").isGreaterThanOrEqualTo(c[3] - 1);
        }
        prevX = t;
        float[] w = g.weight(i, TileGrid.Blend.SMOOTH);
        float[] wh = g.weight(i, TileGrid.Blend.HARD);
        for (int y = 0; y < t[3]; y++) {
          for (int x = 0; x < t[2]; x++) {
            assertThat(w[y * t[2] + x]).isPositive();
            sum[(t[1] + y) * c[0] + t[0] + x] += w[y * t[2] + x];
            hard[(t[1] + y) * c[0] + t[0] + x] += wh[y * t[2] + x];
          }
        }
      }
      for (int i = 0; i < sum.length; i++) {
        assertThat(sum[i]).isPositive();
        assertThat(hard[i]).as("naive tiling takes each pixel from exactly one tile").isEqualTo(1f);
      }
    }
    assertThat(new TileGrid(6000, 4000, 768, 192).count()).isEqualTo(11 * 7);
  }

  @Test
  void badTileSettingsNameTheOption() {
    assertThatThrownBy(() -> new TileSettings(32, null)).hasMessage("--tile-size must be 64 px or more, got 32");
    assertThatThrownBy(() -> new TileSettings(null, -1)).hasMessage("--tile-overlap must be 0 px or more, got -1");
    assertThatThrownBy(() -> new TileSettings(128, 128))
        .hasMessage("--tile-overlap (128 px) must be smaller than --tile-size (128 px)");
    assertThatThrownBy(() -> Tiling.grid(1000, 800, 256, new TileSettings(null, 300)))
        .hasMessageContaining("--tile-overlap (300 px) must be smaller than the tile size (256 px");
  }

  @Test
  void theWrapperTilesEveryCallWithItsSettingsUnlessTheCallSetsItsOwn() {
    try (TiledEstimator wrapped = new TiledEstimator(new MapEstimator(W, H, true, 0, 0), new TileSettings(96, 32))) {
      float[] got = wrapped.predict(MapEstimator.positions(W, H), EstimatorSettings.defaults(), null)
          .map(Modality.DEPTH).values();
      assertThat(maxAbsDiff(got, truthDepth())).isLessThan(1e-5);
      assertThat(((MapEstimator) wrapped.estimator()).tiles).hasSize(15);
    }
    try (TiledEstimator wrapped = new TiledEstimator(new MapEstimator(W, H, true, 0, 0), TileSettings.DEFAULT)) {
      wrapped.predict(MapEstimator.positions(W, H), TILED, null);
      assertThat(((MapEstimator) wrapped.estimator()).tiles).as("the call's 96 px tiles, not 64 px ones")
          .hasSize(15);
    }
  }

  @Test
  void latentOptionsAreRefusedWithTiles() {
    assertThatThrownBy(() -> Tiling.predict(new MapEstimator(W, H, false, 0, 0), MapEstimator.positions(W, H),
        TILED.toBuilder().outputLatent(true).build(), null)).hasMessageContaining("cannot be combined with --tiles");
  }

  static double maxAbsDiff(float[] a, float[] b) {
    assertThat(a).hasSameSizeAs(b);
    double worst = 0;
    for (int i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    return worst;
  }
}
