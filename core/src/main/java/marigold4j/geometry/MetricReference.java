package marigold4j.geometry;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import marigold4j.image.Npy;
import marigold4j.image.Png16;

/**
 * A metric depth reference of an input image: metres per pixel, 0 or NaN where nothing was measured.
 *
 * @param depth (H, W) metres
 * @param source the file, for messages
 */
public record MetricReference(int width, int height, float[] depth, String source) {
  /**
   * Reads a {@code .npy} float array of metres ((H, W), (H, W, 1) or (1, H, W)) or a 16-bit PNG whose value divided by
   * {@code pngScale} is metres (KITTI: 256; many depth sensors: 1000).
   *
   * @param pngScale required for a PNG, ignored for a {@code .npy}
   * @throws IllegalArgumentException naming the file: missing, unreadable, wrong shape, or a PNG without a scale
   */
  public static MetricReference read(Path file, Double pngScale) {
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    if (!Files.isRegularFile(file)) throw new IllegalArgumentException("--metric-depth " + file + ": file not found");
    if (name.endsWith(".npy")) {
      Npy.Array a;
      try {
        a = Npy.read(file);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("--metric-depth " + file + ": " + e.getMessage());
      }
      long[] s = a.squeezedShape();
      if (s.length != 2) {
        throw new IllegalArgumentException("--metric-depth " + file + ": expected an (H, W) array of metres, got shape "
            + Arrays.toString(a.shape()));
      }
      return new MetricReference((int) s[1], (int) s[0], a.toFloats(), file.toString());
    }
    if (name.endsWith(".png")) {
      if (pngScale == null) {
        throw new IllegalArgumentException("--metric-depth " + file + ": a 16-bit PNG needs --metric-depth-scale S "
            + "(value / S = metres; KITTI uses 256, many sensors 1000)");
      }
      if (!(pngScale > 0)) throw new IllegalArgumentException("--metric-depth-scale must be positive, got " + pngScale);
      int[] size = new int[2];
      int[] v;
      try {
        v = Png16.readSamples(file, size);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("--metric-depth " + e.getMessage());
      }
      float[] m = new float[v.length];
      for (int i = 0; i < v.length; i++) m[i] = (float) (v[i] / pngScale);
      return new MetricReference(size[0], size[1], m, file.toString());
    }
    throw new IllegalArgumentException("--metric-depth " + file + ": expected a .npy (metres) or a 16-bit .png");
  }

  /**
   * The reference of input {@code baseName} under {@code refPath}: the file itself, or in a folder
   * {@code <baseName>.npy} or {@code <baseName>.png}.
   */
  public static Path locate(Path refPath, String baseName) {
    if (!Files.isDirectory(refPath)) return refPath;
    for (String ext : new String[] {".npy", ".png"}) {
      Path p = refPath.resolve(baseName + ext);
      if (Files.isRegularFile(p)) return p;
    }
    throw new IllegalArgumentException("--metric-depth " + refPath + ": no " + baseName + ".npy or " + baseName
        + ".png for the input " + baseName);
  }
}
