package marigold4j.train.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import marigold4j.image.ImageInput;
import marigold4j.image.PilImage;
import marigold4j.prep.CsvTable;
import marigold4j.prep.PngIo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The processed Hypersim training split ({@code load.py}'s {@code Hypersim}): tone-mapped rgb, planar depth in mm and
 * Hypersim's camera-space normal previews, normals re-oriented towards the camera, randomly flipped and resized to
 * 480x640. Near / far planes 1e-5 / 65 m; domain "indoor".
 *
 * <p>Pairs come from {@code <root>/train/filename_meta_train.csv} (rows in the public release and the train split
 * whose rgb, depth and {@code normals/<scene>/images/scene_<cam>_geometry_preview/frame.<ffff>.normal_cam.png}
 * files all exist). The original reads that csv from the working directory's {@code data/hypersim/processed};
 * here it is taken from {@code root}, which is the same path with the default {@code --hypersim-dir}.
 */
public final class Hypersim implements TrainingDataset {
  private static final Logger LOG = LoggerFactory.getLogger(Hypersim.class);
  /** The training resolution ({@code SynchronizedTransform_Hyper(H=480, W=640)}). */
  public static final int HEIGHT = 480;
  public static final int WIDTH = 640;
  static final float FAR_PLANE = 65.0f;
  /** Hypersim's focal length in pixels, used to orient the normals. */
  static final double FOCAL = 886.81;

  /** One sample's files. */
  public record Pair(Path rgb, Path depth, Path normal) {}

  private final Path root;
  private final boolean transform;
  private final List<Pair> pairs;

  /** {@code Hypersim(root_dir, transform=True)}. */
  public Hypersim(Path root) {
    this(root, true);
  }

  /**
   * @param root the processed folder ({@code data/hypersim/processed})
   * @param transform flip and resize (the training setting); without it items keep 768x1024 and are never flipped
   * @throws IllegalArgumentException if the meta csv is missing or lacks a needed column
   */
  public Hypersim(Path root, boolean transform) {
    this.root = root;
    this.transform = transform;
    this.pairs = findPairs(root);
  }

  private static List<Pair> findPairs(Path root) {
    Path csvFile = root.resolve("train").resolve("filename_meta_train.csv");
    if (!Files.isRegularFile(csvFile)) {
      throw new IllegalArgumentException(csvFile + ": no such file (run `marigold4j prepare hypersim` first, or pass "
          + "the processed folder with --hypersim-dir)");
    }
    CsvTable csv = CsvTable.read(csvFile);
    int cIncluded = csv.column("included_in_public_release", csvFile);
    int cSplit = csv.column("split_partition_name", csvFile);
    int cRgb = csv.column("rgb_path", csvFile);
    int cDepth = csv.column("depth_path", csvFile);
    int cScene = csv.column("scene_name", csvFile);
    int cCamera = csv.column("camera_name", csvFile);
    int cFrame = csv.column("frame_id", csvFile);
    List<Pair> out = new ArrayList<>();
    int missing = 0;
    for (List<String> row : csv.rows()) {
      if (!row.get(cIncluded).trim().equalsIgnoreCase("true") || !row.get(cSplit).equals("train")) continue;
      Path rgb = root.resolve("train").resolve(row.get(cRgb));
      Path depth = root.resolve("train").resolve(row.get(cDepth));
      int frame;
      try {
        frame = Integer.parseInt(row.get(cFrame).trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(csvFile + ": frame_id '" + row.get(cFrame) + "' is not an integer");
      }
      Path normal = root.resolve("normals").resolve(row.get(cScene)).resolve("images")
          .resolve("scene_" + row.get(cCamera) + "_geometry_preview")
          .resolve(String.format(Locale.ROOT, "frame.%04d.normal_cam.png", frame));
      if (Files.exists(rgb) && Files.exists(depth) && Files.exists(normal)) {
        out.add(new Pair(rgb, depth, normal));
      } else {
        missing++;
      }
    }
    if (missing > 0) LOG.warn("{}: {} train row(s) skipped because a file is missing", csvFile, missing);
    return List.copyOf(out);
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
    return "hypersim";
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
    PilImage normalImage = ImageInput.read(p.normal());
    int w = depthPng.width();
    int h = depthPng.height();
    if (rgbImage.width() != w || rgbImage.height() != h || normalImage.width() != w || normalImage.height() != h) {
      throw new IllegalArgumentException(p.rgb() + ": rgb " + rgbImage.width() + "x" + rgbImage.height() + ", depth "
          + w + "x" + h + " and normals " + normalImage.width() + "x" + normalImage.height() + " differ in size");
    }
    float[] depth = new float[w * h];
    // np.array(png) / 1000 in float64, stored by PIL as mode F (float32)
    for (int i = 0; i < depth.length; i++) depth[i] = (float) (depthPng.values()[i] / 1000.0);
    byte[] rgb = rgbImage.rgbPixels();
    byte[] normal = HypersimNormals.alignToCamera(normalImage.rgbPixels(), depth, w, h);
    return finish(rgb, depth, normal, w, h, flip, p.rgb().toString());
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
      rgb = PilResampling.bilinear(rgb, w, h, 3, WIDTH, HEIGHT);
      depth = PilResampling.nearest(depth, w, h, WIDTH, HEIGHT);
      normal = PilResampling.bilinear(normal, w, h, 3, WIDTH, HEIGHT);
      w = WIDTH;
      h = HEIGHT;
    }
    return ItemProcessing.process(rgb, depth, normal, w, h, FAR_PLANE, "indoor", source);
  }
}
