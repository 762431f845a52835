package marigold4j.eval.normals;

/**
 * The ground truth of one DSINE sample as its loader returns it: normals in the DSINE frame ({@link NormalFrame#LUB})
 * and the validity mask, {@code [H, W]} row-major. Normals at invalid pixels are whatever the file holds (never used).
 */
public record NormalsGroundTruth(NormalMap normals, boolean[] mask) {
  public NormalsGroundTruth {
    if (mask.length != normals.height() * normals.width()) {
      throw new IllegalArgumentException("mask has " + mask.length + " pixels, normals " + normals.height() + "x"
          + normals.width());
    }
  }

  /** Number of valid pixels. */
  public int validPixels() {
    int n = 0;
    for (boolean b : mask) if (b) n++;
    return n;
  }
}
