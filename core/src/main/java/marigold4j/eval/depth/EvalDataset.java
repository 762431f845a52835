package marigold4j.eval.depth;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import marigold4j.image.Npy;

/**
 * One evaluation dataset opened for reading: the filename list (after the original's filtering) and, per sample,
 * the ground truth exactly as the original loaders decode it — units, float32 conversion, crops and validity masks.
 *
 * <p>Decoding per dataset: NYUv2 and ScanNet 16-bit PNG / 1000, KITTI 16-bit PNG / 256 (lines whose depth is
 * {@code None} are dropped; optional benchmark crop to 352x1216, then the Garg or Eigen evaluation mask), ETH3D raw
 * little-endian float32 of a fixed 4032x6048 shape with {@code +inf -> 0}, DIODE {@code _depth.npy} with validity
 * taken from {@code _depth_mask.npy} alone. Range checks run in float32 with strict bounds.
 */
public final class EvalDataset implements AutoCloseable {
  /** ETH3D depth binaries carry no header; the original reshapes them to this fixed size. */
  public static final int ETH3D_HEIGHT = 4032;
  public static final int ETH3D_WIDTH = 6048;
  private static final int KB_CROP_HEIGHT = 352;
  private static final int KB_CROP_WIDTH = 1216;

  private final DatasetConfig config;
  private final DatasetFiles files;
  private final List<String[]> lines;
  private final int eth3dHeight;
  private final int eth3dWidth;

  /** Ground truth of one sample: {@code [H, W]} float32 depth in metres (after crops) and its validity mask. */
  public record DepthGroundTruth(String rgbRelativePath, int height, int width, float[] depth, boolean[] valid) {
    public long validCount() {
      long n = 0;
      for (boolean v : valid) if (v) n++;
      return n;
    }
  }

  private EvalDataset(DatasetConfig config, DatasetFiles files, List<String[]> lines, int eth3dHeight,
      int eth3dWidth) {
    this.config = config;
    this.files = files;
    this.lines = lines;
    this.eth3dHeight = eth3dHeight;
    this.eth3dWidth = eth3dWidth;
  }

  /**
   * Opens a dataset: the archive is {@code baseDataDir/config.dir()}, the filename list {@code config.filenames()}
   * resolved as {@link FilenameLists#resolve} does.
   */
  public static EvalDataset open(DatasetConfig config, Path baseDataDir, Path workingDir) {
    return open(config, baseDataDir, workingDir, ETH3D_HEIGHT, ETH3D_WIDTH);
  }

  /** As {@link #open(DatasetConfig, Path, Path)} with another ETH3D raw shape (for small synthetic archives). */
  public static EvalDataset open(DatasetConfig config, Path baseDataDir, Path workingDir, int eth3dHeight,
      int eth3dWidth) {
    List<String[]> lines = FilenameLists.read(config, workingDir);
    DatasetFiles files = DatasetFiles.open(baseDataDir.resolve(config.dir()));
    return new EvalDataset(config, files, lines, eth3dHeight, eth3dWidth);
  }

  public DatasetConfig config() {
    return config;
  }

  /** Number of samples (after dropping KITTI lines without ground truth). */
  public int size() {
    return lines.size();
  }

  /** The whitespace-separated fields of sample {@code index}'s filename-list line. */
  public List<String> fields(int index) {
    return List.of(lines.get(index));
  }

  public String rgbRelativePath(int index) {
    return lines.get(index)[0];
  }

  /** The prediction file of sample {@code index}, relative to the prediction folder. */
  public String predictionPath(int index) {
    return PredictionNames.relativePath(rgbRelativePath(index), config.kind().nameMode());
  }

  /** The archive or folder the samples are read from. */
  public String location() {
    return files.location();
  }

  /**
   * Loads sample {@code index}'s ground truth. The RGB (and NYU's filled depth) must exist, as the original reads
   * them, but are not decoded: the metrics do not use them.
   */
  public DepthGroundTruth groundTruth(int index) {
    String[] f = lines.get(index);
    requireMember(f[0]);
    if (config.kind() == DatasetKind.NYU_V2) requireMember(f[2]);
    DatasetKind kind = config.kind();
    return switch (kind) {
      case NYU_V2, SCANNET -> fromPng(f[0], f[1], 1000.0);
      case KITTI -> kitti(f[0], f[1]);
      case ETH3D -> eth3d(f[0], f[1]);
      case DIODE -> diode(f[0], f[1], f[2]);
    };
  }

  /**
   * The RGB image of sample {@code index} as the inference step receives it (KITTI: after the benchmark crop when
   * {@code kitti_bm_crop} is set). Decoded with ImageIO; JPEG decoders may differ from PIL's by a few levels.
   */
  public BufferedImage rgb(int index) {
    String path = rgbRelativePath(index);
    BufferedImage img = decodeImage(files.read(path), path);
    if (config.kind() == DatasetKind.KITTI && config.kittiBmCrop()) {
      int[] rows = kittiCropRange(img.getHeight(), true);
      int[] cols = kittiCropRange(img.getWidth(), false);
      img = img.getSubimage(cols[0], rows[0], cols[1] - cols[0], rows[1] - rows[0]);
    }
    return img;
  }

  private void requireMember(String path) {
    if (!files.exists(path)) files.read(path); // fails with the member, archive and naming rule
  }

  private DepthGroundTruth fromPng(String rgb, String depthPath, double divisor) {
    Raster r = decodeGray16(depthPath);
    int h = r.getHeight();
    int w = r.getWidth();
    int[] raw = r.getSamples(0, 0, w, h, 0, (int[]) null);
    float[] depth = new float[h * w];
    // png / 1000.0 is a float64 division in numpy; torch's .float() then rounds to float32
    for (int i = 0; i < depth.length; i++) depth[i] = (float) (raw[i] / divisor);
    boolean[] valid = rangeMask(depth);
    if (config.kind() == DatasetKind.NYU_V2 && config.eigenValidMask()) {
      boolean[] eval = new boolean[h * w];
      fill(eval, w, pySlice(45, 471, h), pySlice(41, 601, w));
      and(valid, eval);
    }
    return new DepthGroundTruth(rgb, h, w, depth, valid);
  }

  private DepthGroundTruth kitti(String rgb, String depthPath) {
    Raster r = decodeGray16(depthPath);
    int h = r.getHeight();
    int w = r.getWidth();
    int[] rows = {0, h};
    int[] cols = {0, w};
    if (config.kittiBmCrop()) {
      rows = kittiCropRange(h, true);
      cols = kittiCropRange(w, false);
    }
    int ch = rows[1] - rows[0];
    int cw = cols[1] - cols[0];
    int[] raw = r.getSamples(cols[0], rows[0], cw, ch, 0, (int[]) null);
    float[] depth = new float[ch * cw];
    for (int i = 0; i < depth.length; i++) depth[i] = (float) (raw[i] / 256.0);
    boolean[] valid = rangeMask(depth);
    String crop = config.validMaskCrop();
    if (crop != null) {
      boolean[] eval = new boolean[ch * cw];
      int[][] window = kittiEvalWindow(crop, ch, cw);
      fill(eval, cw, window[0], window[1]);
      and(valid, eval);
    }
    return new DepthGroundTruth(rgb, ch, cw, depth, valid);
  }

  private DepthGroundTruth eth3d(String rgb, String depthPath) {
    byte[] bytes = files.read(depthPath);
    long expected = (long) eth3dHeight * eth3dWidth * 4;
    if (bytes.length != expected) {
      throw new IllegalArgumentException("ETH3D depth ./" + depthPath + " in " + files.location() + " has "
          + bytes.length + " bytes; expected " + expected + " (raw float32 " + eth3dHeight + "x" + eth3dWidth + ")");
    }
    float[] depth = new float[eth3dHeight * eth3dWidth];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(depth);
    for (int i = 0; i < depth.length; i++) {
      if (depth[i] == Float.POSITIVE_INFINITY) depth[i] = 0f;
    }
    return new DepthGroundTruth(rgb, eth3dHeight, eth3dWidth, depth, rangeMask(depth));
  }

  private DepthGroundTruth diode(String rgb, String depthPath, String maskPath) {
    Npy.Array d = Npy.parse(files.read(depthPath), files.location() + ":./" + depthPath);
    Npy.Array m = Npy.parse(files.read(maskPath), files.location() + ":./" + maskPath);
    long[] shape = d.squeezedShape();
    if (shape.length != 2 || !Arrays.equals(shape, m.squeezedShape())) {
      throw new IllegalArgumentException("DIODE depth ./" + depthPath + " " + Arrays.toString(d.shape())
          + " and mask ./" + maskPath + " " + Arrays.toString(m.shape()) + " must both be H x W (x 1)");
    }
    // validity comes from the mask file only: DIODE's min/max depth do not enter the mask
    return new DepthGroundTruth(rgb, (int) shape[0], (int) shape[1], d.toFloats(), m.toBooleans());
  }

  /** {@code (d > min) & (d < max)} with both bounds rounded to float32, as torch compares a float32 tensor. */
  private boolean[] rangeMask(float[] depth) {
    float lo = (float) config.minDepth();
    float hi = (float) config.maxDepth();
    boolean[] valid = new boolean[depth.length];
    for (int i = 0; i < depth.length; i++) valid[i] = depth[i] > lo && depth[i] < hi;
    return valid;
  }

  /** Rows or columns {@code [start, stop)} of the KITTI benchmark crop, with Python's slicing of short images. */
  static int[] kittiCropRange(int size, boolean rows) {
    int start = rows ? size - KB_CROP_HEIGHT : (int) ((size - KB_CROP_WIDTH) / 2.0);
    return pySlice(start, start + (rows ? KB_CROP_HEIGHT : KB_CROP_WIDTH), size);
  }

  /**
   * Rows and columns {@code [start, stop)} of KITTI's {@code garg} or {@code eigen} evaluation window on an
   * {@code h x w} (cropped) depth map; Python's {@code int()} of the double product truncates, as the cast does.
   */
  static int[][] kittiEvalWindow(String crop, int h, int w) {
    if (crop.equals("garg")) {
      return new int[][] {pySlice((int) (0.40810811 * h), (int) (0.99189189 * h), h),
          pySlice((int) (0.03594771 * w), (int) (0.96405229 * w), w)};
    }
    return new int[][] {pySlice((int) (0.3324324 * h), (int) (0.91351351 * h), h),
        pySlice((int) (0.0359477 * w), (int) (0.96405229 * w), w)};
  }

  /** Python's {@code [start:stop]} on a length-{@code n} axis: negative indices count from the end, then clamp. */
  static int[] pySlice(int start, int stop, int n) {
    int s = start < 0 ? Math.max(0, start + n) : Math.min(start, n);
    int e = stop < 0 ? Math.max(0, stop + n) : Math.min(stop, n);
    return new int[] {s, Math.max(s, e)};
  }

  private static void fill(boolean[] mask, int width, int[] rows, int[] cols) {
    for (int y = rows[0]; y < rows[1]; y++) Arrays.fill(mask, y * width + cols[0], y * width + cols[1], true);
  }

  private static void and(boolean[] a, boolean[] b) {
    for (int i = 0; i < a.length; i++) a[i] &= b[i];
  }

  private Raster decodeGray16(String path) {
    BufferedImage img = decodeImage(files.read(path), path);
    if (img.getRaster().getNumBands() != 1) {
      throw new IllegalArgumentException("depth image ./" + path + " in " + files.location() + " has "
          + img.getRaster().getNumBands() + " channels; expected a single-channel (16-bit) PNG");
    }
    return img.getRaster();
  }

  private BufferedImage decodeImage(byte[] bytes, String path) {
    try {
      BufferedImage img = ImageIO.read(new ByteArrayInputStream(bytes));
      if (img == null) {
        throw new IllegalArgumentException("./" + path + " in " + files.location() + " is not a readable image");
      }
      return img;
    } catch (IOException e) {
      throw new UncheckedIOException("decoding ./" + path + " in " + files.location() + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    try {
      files.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Filename lists: parsing with the original's rules and locating the file. */
  public static final class FilenameLists {
    private static final String BUNDLED_PREFIX = "Marigold/data_split/";

    private FilenameLists() {}

    /**
     * Finds a config's filename list: an absolute path as is; a relative one against {@code workingDir} (the
     * original resolves it against the current directory), then against the YAML's folder; finally the
     * original's lists ({@code Marigold/data_split/...}) bundled with this library.
     */
    public static Path resolve(DatasetConfig config, Path workingDir) {
      Path p = Path.of(config.filenames());
      if (p.isAbsolute()) return p;
      Path inWorkingDir = workingDir.resolve(p);
      if (Files.isRegularFile(inWorkingDir)) return inWorkingDir;
      if (config.source() != null) {
        Path yamlDir = Path.of(config.source()).toAbsolutePath().getParent();
        if (yamlDir != null && Files.isRegularFile(yamlDir.resolve(p))) return yamlDir.resolve(p);
      }
      return inWorkingDir;
    }

    static List<String[]> read(DatasetConfig config, Path workingDir) {
      Path p = resolve(config, workingDir);
      String name = config.filenames();
      InputStream in;
      try {
        if (Files.isRegularFile(p)) {
          in = Files.newInputStream(p);
          name = p.toString();
        } else if (name.startsWith(BUNDLED_PREFIX)
            && EvalDataset.class.getResource("data_split/" + name.substring(BUNDLED_PREFIX.length())) != null) {
          in = EvalDataset.class.getResourceAsStream("data_split/" + name.substring(BUNDLED_PREFIX.length()));
        } else {
          throw new IllegalArgumentException("filename list " + config.filenames() + " (from " + config.source()
              + ") not found in " + workingDir.toAbsolutePath() + " nor next to the config");
        }
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
          return parse(r, name, config.kind());
        }
      } catch (IOException e) {
        throw new UncheckedIOException("reading filename list " + p + ": " + e.getMessage(), e);
      }
    }

    /**
     * One sample per line, fields split on whitespace. A blank line is an error (the original crashes on it);
     * KITTI drops lines whose depth field is {@code None}.
     */
    static List<String[]> parse(BufferedReader r, String name, DatasetKind kind) throws IOException {
      List<String[]> out = new ArrayList<>();
      int lineNo = 0;
      for (String line; (line = r.readLine()) != null; ) {
        lineNo++;
        String t = line.strip();
        if (t.isEmpty()) {
          throw new IllegalArgumentException("filename list " + name + " line " + lineNo
              + " is blank (the original evaluation fails on blank lines; remove it)");
        }
        String[] fields = t.split("\\s+");
        if (kind == DatasetKind.KITTI && fields.length >= 2 && fields[1].equals("None")) continue;
        if (fields.length < kind.fieldsPerLine()) {
          throw new IllegalArgumentException("filename list " + name + " line " + lineNo + " has " + fields.length
              + " field(s); " + kind.configName() + " needs " + kind.fieldsPerLine());
        }
        out.add(fields);
      }
      return out;
    }
  }
}
