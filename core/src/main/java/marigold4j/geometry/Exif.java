package marigold4j.geometry;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.OptionalDouble;

/**
 * Reads the one EXIF field the camera model needs, {@code FocalLengthIn35mmFilm} (tag 0xA405 of the Exif IFD), from
 * a JPEG's APP1 segment. Written by hand (about 60 lines) rather than adding a metadata library: the TIFF structure
 * walked is IFD0 -> Exif IFD pointer (0x8769) -> 0xA405, in either byte order. Anything malformed or absent gives
 * an empty result, never an error (EXIF is a hint).
 */
public final class Exif {
  static final int TAG_EXIF_IFD = 0x8769;
  static final int TAG_FOCAL_35MM = 0xA405;

  private Exif() {}

  /** The 35 mm-equivalent focal length in millimetres, if the file is a JPEG that records one (0 = unknown). */
  public static OptionalDouble focalLength35mm(byte[] file) {
    try {
      ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.BIG_ENDIAN);
      if (file.length < 4 || (b.getShort(0) & 0xffff) != 0xFFD8) return OptionalDouble.empty();
      int p = 2;
      while (p + 4 <= file.length) {
        if ((file[p] & 0xff) != 0xFF) return OptionalDouble.empty();
        int marker = file[p + 1] & 0xff;
        if (marker == 0xDA || marker == 0xD9) return OptionalDouble.empty();   // start of scan / end: no EXIF
        int length = b.getShort(p + 2) & 0xffff;
        if (marker == 0xE1 && length >= 8 && new String(file, p + 4, 6, StandardCharsets.ISO_8859_1)
            .equals("Exif\0\0")) {
          return fromTiff(ByteBuffer.wrap(file, p + 10, length - 8).slice());
        }
        p += 2 + length;
      }
    } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
      // a malformed segment: no EXIF to trust
    }
    return OptionalDouble.empty();
  }

  private static OptionalDouble fromTiff(ByteBuffer t) {
    if (t.get(0) == 'I' && t.get(1) == 'I') t.order(ByteOrder.LITTLE_ENDIAN);
    else if (t.get(0) == 'M' && t.get(1) == 'M') t.order(ByteOrder.BIG_ENDIAN);
    else return OptionalDouble.empty();
    if (t.getShort(2) != 42) return OptionalDouble.empty();
    int exifIfd = (int) entryValue(t, t.getInt(4), TAG_EXIF_IFD);
    if (exifIfd <= 0) return OptionalDouble.empty();
    long focal = entryValue(t, exifIfd, TAG_FOCAL_35MM);
    return focal > 0 ? OptionalDouble.of(focal) : OptionalDouble.empty();
  }

  /** The SHORT or LONG value of {@code tag} in the IFD at {@code ifd}, or -1. */
  private static long entryValue(ByteBuffer t, int ifd, int tag) {
    int count = t.getShort(ifd) & 0xffff;
    for (int i = 0; i < count; i++) {
      int e = ifd + 2 + 12 * i;
      if ((t.getShort(e) & 0xffff) != tag) continue;
      int type = t.getShort(e + 2) & 0xffff;
      if (type == 3) return t.getShort(e + 8) & 0xffff;   // SHORT, left-justified in the value field
      if (type == 4) return t.getInt(e + 8) & 0xffffffffL; // LONG
      return -1;
    }
    return -1;
  }
}
