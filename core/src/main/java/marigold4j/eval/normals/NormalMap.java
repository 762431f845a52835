package marigold4j.eval.normals;

/**
 * A surface-normal map: float32 values in {@code [3, H, W]} (channel-major) layout, as the Marigold pipeline returns
 * its {@code normal_np} and as the DSINE loaders produce after {@code ToTensor}. Which coordinate frame the three
 * components live in is not part of the map: see {@link NormalFrame}.
 */
public record NormalMap(int height, int width, float[] chw) {
  public NormalMap {
    if ((long) height * width * 3 != chw.length) {
      throw new IllegalArgumentException("normal map of " + height + "x" + width + " needs " + 3L * height * width
          + " values, got " + chw.length);
    }
  }
}
