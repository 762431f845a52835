package marigold4j.estimator.tiles;

/**
 * Tiled high-resolution inference ({@code predict --tiles}): a global prediction at the processing resolution plus
 * overlapping tiles of the input at its native resolution, each tile predicted at processing resolution = tile size.
 *
 * @param size the tile's edge in input pixels; null = the call's processing resolution
 * @param overlap pixels neighbouring tiles share at least (the blending ramp); null = a quarter of the tile size
 */
public record TileSettings(Integer size, Integer overlap) {
  /** The smallest tile: one 8 x 8 latent (the VAE downsamples by 8). */
  public static final int MIN_SIZE = 64;

  /** Tiles of the processing resolution, overlapping by a quarter of it. */
  public static final TileSettings DEFAULT = new TileSettings(null, null);

  /** Checks what is set; every error names the option as the command line spells it. */
  public TileSettings {
    if (size != null && size < MIN_SIZE) {
      throw new IllegalArgumentException("--tile-size must be " + MIN_SIZE + " px or more, got " + size);
    }
    if (overlap != null && overlap < 0) {
      throw new IllegalArgumentException("--tile-overlap must be 0 px or more, got " + overlap);
    }
    if (size != null && overlap != null && overlap >= size) {
      throw new IllegalArgumentException("--tile-overlap (" + overlap + " px) must be smaller than --tile-size ("
          + size + " px)");
    }
  }

  /** The tile edge for processing resolution {@code processingRes}. */
  public int sizeFor(int processingRes) {
    return size != null ? size : processingRes;
  }

  /**
   * The overlap for tiles of {@code tileSize}.
   *
   * @throws IllegalArgumentException when the overlap is not smaller than the tile (the default tile size is known
   *     only once the model's processing resolution is)
   */
  public int overlapFor(int tileSize) {
    int o = overlap != null ? overlap : tileSize / 4;
    if (o >= tileSize) {
      throw new IllegalArgumentException("--tile-overlap (" + o + " px) must be smaller than the tile size ("
          + tileSize + " px, the processing resolution unless --tile-size is given)");
    }
    return o;
  }
}
