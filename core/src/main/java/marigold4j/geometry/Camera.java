package marigold4j.geometry;

import java.util.Locale;
import java.util.OptionalDouble;

/**
 * A pinhole camera in pixels of the input image, OpenCV's convention: pixel {@code (u, v)} (column, row) has its
 * centre at integer coordinates, and the point at depth {@code z} seen there is
 * {@code ((u - cx)·z / fx, (v - cy)·z / fy, z)} (x right, y down, z forward).
 *
 * @param source how the intrinsics were chosen (printed, and stored in every output's metadata)
 */
public record Camera(double fx, double fy, double cx, double cy, int width, int height, String source) {
  /** The horizontal field of view assumed when nothing else is known: a typical phone or compact camera's. */
  public static final double DEFAULT_FOV_DEGREES = 60.0;
  /** The diagonal of a 36 x 24 mm frame, the reference of a 35 mm-equivalent focal length. */
  static final double FULL_FRAME_DIAGONAL_MM = Math.hypot(36, 24);

  public Camera {
    if (!(fx > 0 && fy > 0) || !Double.isFinite(fx) || !Double.isFinite(fy) || !Double.isFinite(cx)
        || !Double.isFinite(cy)) {
      throw new IllegalArgumentException("camera intrinsics need positive finite fx, fy and finite cx, cy; got fx="
          + fx + ", fy=" + fy + ", cx=" + cx + ", cy=" + cy);
    }
  }

  /** Camera x of the point at depth {@code z} in column {@code u}. */
  public double x(double u, double z) {
    return (u - cx) * z / fx;
  }

  /** Camera y of the point at depth {@code z} in row {@code v}. */
  public double y(double v, double z) {
    return (v - cy) * z / fy;
  }

  /** The horizontal field of view in degrees. */
  public double horizontalFovDegrees() {
    return Math.toDegrees(2 * Math.atan(width / (2 * fx)));
  }

  /** One line: the intrinsics and where they came from. */
  public String describe() {
    return String.format(Locale.ROOT, "fx=%.2f fy=%.2f cx=%.2f cy=%.2f (%dx%d, horizontal FOV %.1f deg; %s)", fx, fy,
        cx, cy, width, height, horizontalFovDegrees(), source);
  }

  /** Principal point at the image centre {@code ((W - 1) / 2, (H - 1) / 2)}, square pixels, horizontal FOV. */
  public static Camera ofFov(double fovDegrees, int width, int height, String source) {
    if (!(fovDegrees > 0 && fovDegrees < 180)) {
      throw new IllegalArgumentException("--fov must be between 0 and 180 degrees, got " + fovDegrees);
    }
    double f = width / 2.0 / Math.tan(Math.toRadians(fovDegrees) / 2);
    return new Camera(f, f, (width - 1) / 2.0, (height - 1) / 2.0, width, height, source);
  }

  /**
   * From a 35 mm-equivalent focal length: the focal length in pixels is {@code f35 · diagonal_px / 43.27 mm} (the
   * equivalence is defined on the frame diagonal, so it holds for any aspect ratio), centred principal point.
   */
  public static Camera of35mm(double focal35mm, int width, int height) {
    double f = focal35mm * Math.hypot(width, height) / FULL_FRAME_DIAGONAL_MM;
    return new Camera(f, f, (width - 1) / 2.0, (height - 1) / 2.0, width, height,
        String.format(Locale.ROOT, "EXIF 35 mm-equivalent focal length %.1f mm", focal35mm));
  }

  /**
   * What the user asked for: explicit intrinsics, a field of view, or nothing (EXIF, else the default FOV).
   *
   * @param intrinsics {fx, fy, cx, cy} in input pixels, or null
   * @param fovDegrees horizontal FOV, or null
   */
  public record Spec(double[] intrinsics, Double fovDegrees) {
    public Spec {
      if (intrinsics != null && fovDegrees != null) {
        throw new IllegalArgumentException("give either --intrinsics or --fov, not both");
      }
      if (intrinsics != null) {
        if (intrinsics.length != 4) {
          throw new IllegalArgumentException("--intrinsics needs four numbers fx,fy,cx,cy, got " + intrinsics.length);
        }
        new Camera(intrinsics[0], intrinsics[1], intrinsics[2], intrinsics[3], 1, 1, "check");
        intrinsics = intrinsics.clone();
      }
      if (fovDegrees != null) ofFov(fovDegrees, 1, 1, "check");
    }

    /** Parses {@code fx,fy,cx,cy}. */
    public static double[] parseIntrinsics(String s) {
      String[] parts = s.split(",");
      if (parts.length != 4) {
        throw new IllegalArgumentException("--intrinsics needs four comma-separated numbers fx,fy,cx,cy, got '" + s
            + "'");
      }
      double[] v = new double[4];
      for (int i = 0; i < 4; i++) {
        try {
          v[i] = Double.parseDouble(parts[i].trim());
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("--intrinsics: '" + parts[i] + "' is not a number");
        }
      }
      return v;
    }

    /** The camera of a {@code width x height} image whose EXIF gave {@code exif35mm} (or nothing). */
    public Camera resolve(int width, int height, OptionalDouble exif35mm) {
      if (intrinsics != null) {
        return new Camera(intrinsics[0], intrinsics[1], intrinsics[2], intrinsics[3], width, height, "--intrinsics");
      }
      if (fovDegrees != null) return ofFov(fovDegrees, width, height, "--fov " + fovDegrees);
      if (exif35mm.isPresent()) return of35mm(exif35mm.getAsDouble(), width, height);
      return ofFov(DEFAULT_FOV_DEGREES, width, height, "default horizontal FOV " + DEFAULT_FOV_DEGREES
          + " deg (no --intrinsics, --fov or EXIF focal length)");
    }
  }
}
