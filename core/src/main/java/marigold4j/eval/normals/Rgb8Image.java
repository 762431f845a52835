package marigold4j.eval.normals;

/** An 8-bit RGB image in {@code [H, W, 3]} (interleaved, row-major) layout, the layout of a PIL / numpy RGB image. */
public record Rgb8Image(int height, int width, byte[] hwc) {
  public Rgb8Image {
    if ((long) height * width * 3 != hwc.length) {
      throw new IllegalArgumentException("RGB image of " + height + "x" + width + " needs " + 3L * height * width
          + " bytes, got " + hwc.length);
    }
  }

  /** The unsigned value of channel {@code c} at row {@code y}, column {@code x}. */
  public int get(int y, int x, int c) {
    return hwc[(y * width + x) * 3 + c] & 0xff;
  }
}
