package marigold4j.train.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import marigold4j.image.ImageInput;
import marigold4j.image.PilImage;
import marigold4j.prep.PngIo;

/**
 * Virtual KITTI 2 ({@code load.py}'s {@code VirtualKITTI2}): JPEG rgb, 16-bit depth in cm (65535 = sky), and the DAG
 * normals written by {@code marigold4j prepare vkitti-normals}; randomly flipped and cut to the KITTI benchmark crop
 * (352x1216). Only the morning / fog / rain / sunset / overcast variations are used. Near / far planes 1e-5 / 80 m;
 * domain "outdoor".
 */
public final class VirtualKITTI2 implements TrainingDataset {
  public static final List<String> SCENES = List.of("Scene01", "Scene02", "Scene06", "Scene18", "Scene20");
  public static final List<String> VARIATIONS = List.of("morning", "fog", "rain", "sunset", "overcast");
  public static final List<String> CAMERAS = List.of("Camera_0", "Camera_1");
  /** The KITTI benchmark crop. */
  public static final int CROP_HEIGHT = 352;
  public static final int CROP_WIDTH = 1216;
  static final float FAR_PLANE = 80.0f;

  /** One sample's files. */
  public record Pair(Path rgb, Path depth, Path normal) {}

  private final Path root;
  private final boolean transform;
  private final List<Pair> pairs;

  /** {@code VirtualKITTI2(root_dir, transform=True)}, the training setting. */
  public VirtualKITTI2(Path root) {
    this(root, true);
  }

  /**
   * @param root the Virtual KITTI 2 folder ({@code vkitti_2.0.3_rgb}, {@code vkitti_2.0.3_depth},
   *     {@code vkitti_DAG_normals})
   * @param transform flip and crop; without it items keep their size and are never flipped
   * @throws IllegalArgumentException if {@code root} has no {@code vkitti_2.0.3_rgb} folder
   */
  public VirtualKITTI2(Path root, boolean transform) {
    this.root = root;
    this.transform = transform;
    this.pairs = findPairs(root);
  }

  /**
   * Scene x variation x camera where the rgb and depth folders exist, one pair per {@code *.jpg} (sorted by file name
   * here; the original takes the directory listing's order).
   */
  private static List<Pair> findPairs(Path root) {
    Path rgbRoot = root.resolve("vkitti_2.0.3_rgb");
    if (!Files.isDirectory(rgbRoot)) {
      throw new IllegalArgumentException(root + ": not a Virtual KITTI 2 folder (no vkitti_2.0.3_rgb/)");
    }
    List<Pair> out = new ArrayList<>();
    for (String scene : SCENES) {
      for (String variation : VARIATIONS) {
        for (String camera : CAMERAS) {
          Path rgbDir = rgbRoot.resolve(Path.of(scene, variation, "frames", "rgb", camera));
          Path depthDir = root.resolve(Path.of("vkitti_2.0.3_depth", scene, variation, "frames", "depth", camera));
          Path normalDir = root.resolve(Path.of("vkitti_DAG_normals", scene, variation, "frames", "normal", camera));
          if (!Files.isDirectory(rgbDir) || !Files.isDirectory(depthDir)) continue;
          for (String jpg : jpgNames(rgbDir)) {
            String rest = jpg.substring(3);
            String png = rest.replace(".jpg", ".png");
            out.add(new Pair(rgbDir.resolve("rgb" + rest), depthDir.resolve("depth" + png),
                normalDir.resolve("normal" + png)));
          }
        }
      }
    }
    return List.copyOf(out);
  }

  private static List<String> jpgNames(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".jpg")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The samples' files in dataset order. */
  public List<Pair> pairs() {
    return pairs;
  }

  public Path root() {
    return root;
  }

  @Override
  public String name() {
    return "vkitti";
  }

  @Override
  public int size() {
    return pairs.size();
  }

  @Override
  public boolean transform() {
    return transform;
  }

  @Override
  public String describe(int index) {
    return pairs.get(index).rgb().toString();
  }

  @Override
  public DecodedItem decode(int index, boolean flip) {
    Pair p = pairs.get(index);
    PilImage rgbImage = ImageInput.read(p.rgb());
    PngIo.Samples depthPng = PngIo.readGrey(p.depth());
    // PIL's convert("RGB") of the 16-bit normal PNG keeps each sample's high byte
    PilImage normalImage = ImageInput.read(p.normal());
    int w = depthPng.width();
    int h = depthPng.height();
    if (rgbImage.width() != w || rgbImage.height() != h || normalImage.width() != w || normalImage.height() != h) {
      throw new IllegalArgumentException(p.rgb() + ": rgb " + rgbImage.width() + "x" + rgbImage.height() + ", depth "
          + w + "x" + h + " and normals " + normalImage.width() + "x" + normalImage.height() + " differ in size");
    }
    float[] depth = new float[w * h];
    for (int i = 0; i < depth.length; i++) depth[i] = (float) depthPng.values()[i] / 100.0f; // cm -> m, float32
    return finish(rgbImage.rgbPixels(), depth, normalImage.rgbPixels(), w, h, flip, p.rgb().toString());
  }

  /** The transform and processing of an item from its decoded images (exposed for the golden tests). */
  DecodedItem finish(byte[] rgb, float[] depth, byte[] normal, int w, int h, boolean flip, String source) {
    if (transform) {
      if (flip) {
        rgb = ItemProcessing.flipBytes(rgb, w, h, 3);
        depth = ItemProcessing.flipFloats(depth, w, h);
        normal = ItemProcessing.flipBytes(normal, w, h, 3);
        ItemProcessing.invertRed(normal);
      }
      // kitti_benchmark_crop with Python's slice semantics (a smaller image is kept whole)
      int[] rows = slice(h - CROP_HEIGHT, h - CROP_HEIGHT + CROP_HEIGHT, h);
      int left = (int) ((w - CROP_WIDTH) / 2.0); // int() truncates toward zero
      int[] cols = slice(left, left + CROP_WIDTH, w);
      int ch = rows[1] - rows[0];
      int cw = cols[1] - cols[0];
      byte[] rgbC = new byte[ch * cw * 3];
      byte[] normalC = new byte[ch * cw * 3];
      float[] depthC = new float[ch * cw];
      for (int y = 0; y < ch; y++) {
        int src = (rows[0] + y) * w + cols[0];
        System.arraycopy(rgb, 3 * src, rgbC, 3 * y * cw, 3 * cw);
        System.arraycopy(normal, 3 * src, normalC, 3 * y * cw, 3 * cw);
        System.arraycopy(depth, src, depthC, y * cw, cw);
      }
      rgb = rgbC;
      normal = normalC;
      depth = depthC;
      w = cw;
      h = ch;
    }
    return ItemProcessing.process(rgb, depth, normal, w, h, FAR_PLANE, "outdoor", source);
  }

  /** Python's {@code [start:stop]} bounds on a sequence of length n (negative values count from the end). */
  static int[] slice(int start, int stop, int n) {
    int s = start < 0 ? Math.max(start + n, 0) : Math.min(start, n);
    int e = stop < 0 ? Math.max(stop + n, 0) : Math.min(stop, n);
    return new int[] {s, Math.max(s, e)};
  }
}
