package marigold4j.image;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** binary16 decoding shared by .npy {@code <f2} arrays and OpenEXR HALF channels. */
class Float16Test {
  @Test
  void convertsHalfFloatsExactly() {
    assertThat(Float16.toFloat((short) 0x3c00)).isEqualTo(1f);
    assertThat(Float16.toFloat((short) 0xc000)).isEqualTo(-2f);
    assertThat(Float16.toFloat((short) 0x0001)).isEqualTo(0x1p-24f); // smallest subnormal
    assertThat(Float16.toFloat((short) 0x7bff)).isEqualTo(65504f);
    assertThat(Float16.toFloat((short) 0x7c00)).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(Float.floatToRawIntBits(Float16.toFloat((short) 0x8000))).isEqualTo(0x80000000);
  }
}
