package marigold4j.spark;

import java.util.Iterator;
import java.util.List;
import java.util.Map;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.image.ImageInput;
import marigold4j.image.PilImage;
import marigold4j.pipeline.Modality;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.bytedeco.javacpp.PointerScope;

/**
 * The executor side of {@link MarigoldTransformer}: predicts each row of a partition with the JVM's shared model
 * ({@link ExecutorModels}), one native-memory scope per row, lazily (one row in memory at a time). A row whose image
 * cannot be read or predicted gets its {@code error} column (path and message) and nulls in its map columns; a model
 * that cannot be loaded fails the task (and so the job: every row would fail the same way).
 */
final class PredictPartition implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;

  private final ModelKey key;
  private final CallSettings settings;
  private final List<OutputColumn> columns;
  private final Map<String, String> hadoopConf;
  private final int contentIndex;   // binary column of encoded image bytes, or -1
  private final int imageIndex;     // Spark image struct, or -1
  private final int pathIndex;      // -1 when there is none

  PredictPartition(ModelKey key, CallSettings settings, List<OutputColumn> columns, Map<String, String> hadoopConf,
      int contentIndex, int imageIndex, int pathIndex) {
    this.key = key;
    this.settings = settings;
    this.columns = List.copyOf(columns);
    this.hadoopConf = hadoopConf;
    this.contentIndex = contentIndex;
    this.imageIndex = imageIndex;
    this.pathIndex = pathIndex;
  }

  @Override
  public Iterator<Row> call(Iterator<Row> rows) {
    EstimatorSettings s = settings.toEstimatorSettings();
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return rows.hasNext();
      }

      @Override
      public Row next() {
        return predict(rows.next(), s);
      }
    };
  }

  private Row predict(Row in, EstimatorSettings s) {
    int n = in.length();
    Object[] out = new Object[n + columns.size() + 3];
    for (int i = 0; i < n; i++) out[i] = in.get(i);
    String path = path(in);
    String error = null;
    try (ExecutorModels.Lease lease = ExecutorModels.acquire(key, hadoopConf);
        PointerScope scope = new PointerScope()) {
      Estimator estimator = lease.estimator();
      try {
        PilImage image = image(in, path);
        DensePrediction p = estimator.predict(image, s, estimator.seeded(settings.seed()));
        for (int c = 0; c < columns.size(); c++) out[n + c] = encode(p, columns.get(c));
        Modality first = p.names().get(0);
        out[n + columns.size()] = p.map(first).height();
        out[n + columns.size() + 1] = p.map(first).width();
      } catch (RuntimeException e) {
        for (int c = 0; c < columns.size() + 2; c++) out[n + c] = null;
        error = message(path, e);
      }
    }
    out[n + columns.size() + 2] = error;
    return RowFactory.create(out);
  }

  private static Object encode(DensePrediction p, OutputColumn c) {
    Modality m = p.names().stream().filter(x -> x.folderPrefix().equals(c.map())).findFirst().orElseThrow();
    if (!c.binary()) return p.map(m).values();
    return c.format(m).encode(p, m);
  }

  private String path(Row in) {
    if (pathIndex >= 0) return in.getString(pathIndex);
    if (imageIndex >= 0 && !in.isNullAt(imageIndex)) return in.getStruct(imageIndex).getString(0);
    return null;
  }

  private PilImage image(Row in, String path) {
    String label = path == null ? "image" : path;
    if (contentIndex >= 0) {
      if (in.isNullAt(contentIndex)) throw new IllegalArgumentException(label + ": no image bytes (content is null)");
      return ImageInput.read((byte[]) in.get(contentIndex), label);
    }
    if (in.isNullAt(imageIndex)) throw new IllegalArgumentException(label + ": no image (image is null)");
    return fromImageStruct(in.getStruct(imageIndex), label);
  }

  /**
   * An image of Spark's {@code image} source (OpenCV layout: rows of B, G, R[, A] bytes, or one grey byte) as PIL
   * would hold it. The {@code image} source decodes with its own reader, so results can differ slightly from the same
   * file's bytes through {@code binaryFile}, which decodes exactly as {@code predict} does.
   */
  static PilImage fromImageStruct(Row img, String label) {
    int h = img.getInt(1);
    int w = img.getInt(2);
    int ch = img.getInt(3);
    byte[] data = (byte[]) img.get(5);
    if (h <= 0 || w <= 0 || data == null) {
      throw new IllegalArgumentException(label + ": not a decodable image (the image source left it empty)");
    }
    if (data.length != (long) h * w * ch) {
      throw new IllegalArgumentException(label + ": image struct of " + w + "x" + h + "x" + ch + " holds "
          + data.length + " bytes");
    }
    return switch (ch) {
      case 1 -> new PilImage(PilImage.Mode.L, w, h, data.clone());
      case 3, 4 -> {
        byte[] px = new byte[data.length];
        for (int i = 0; i < data.length; i += ch) {
          px[i] = data[i + 2];
          px[i + 1] = data[i + 1];
          px[i + 2] = data[i];
          if (ch == 4) px[i + 3] = data[i + 3];
        }
        yield new PilImage(ch == 3 ? PilImage.Mode.RGB : PilImage.Mode.RGBA, w, h, px);
      }
      default -> throw new IllegalArgumentException(label + ": " + ch + " channels (expected 1, 3 or 4)");
    };
  }

  /** One line: the path and what went wrong (the message alone when it names the path already). */
  static String message(String path, RuntimeException e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    m = m.replace('\n', ' ');
    if (path == null || m.startsWith(path)) return m;
    return path + ": " + m;
  }
}
