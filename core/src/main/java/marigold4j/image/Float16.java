package marigold4j.image;

/** IEEE 754 binary16 ("half") values as stored in {@code .npy} {@code <f2} arrays and OpenEXR HALF channels. */
public final class Float16 {
  private Float16() {}

  /** The float32 with the same value (exact: every half value is a float; Java 17 has no {@code float16ToFloat}). */
  public static float toFloat(short h) {
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    if (exp == 0) {
      float v = mant * 0x1p-24f; // subnormal (or zero): mant x 2^-24, exact in float
      return sign != 0 ? -v : v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }
}
