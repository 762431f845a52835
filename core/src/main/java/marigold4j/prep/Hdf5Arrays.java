package marigold4j.prep;

import io.jhdf.HdfFile;
import io.jhdf.api.Dataset;
import io.jhdf.api.Node;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads Hypersim's single-dataset HDF5 files (a dataset named {@code "dataset"}) with the pure-Java jHDF reader.
 * Failures of any kind become an {@link IllegalArgumentException} naming the file.
 */
public final class Hdf5Arrays {
  private static final String DATASET = "dataset";

  private Hdf5Arrays() {}

  /**
   * A dataset's values, flattened in C order.
   *
   * @param shape the dataset's dimensions
   */
  public record Doubles(int[] shape, double[] values) {}

  /** A dataset's integer values, flattened in C order. */
  public record Ints(int[] shape, int[] values) {}

  /** Reads a floating-point dataset (float16, float32 or float64) as float64, as {@code astype(float)} does. */
  public static Doubles readDoubles(Path file) {
    Raw raw = readRaw(file);
    Object flat = raw.flat();
    double[] out;
    if (flat instanceof float[] f) {
      out = new double[f.length];
      for (int i = 0; i < f.length; i++) out[i] = f[i]; // float16 values are exact in float32 and float64
    } else if (flat instanceof double[] d) {
      out = d;
    } else {
      throw new IllegalArgumentException(file + ": expected a floating-point dataset, got "
          + flat.getClass().getComponentType());
    }
    return new Doubles(raw.dims(), out);
  }

  /** Reads an integer dataset (int8 .. int64) as int32, as {@code astype(int)} on Hypersim's entity ids. */
  public static Ints readInts(Path file) {
    Raw raw = readRaw(file);
    Object flat = raw.flat();
    int[] out;
    if (flat instanceof int[] i) {
      out = i;
    } else if (flat instanceof long[] l) {
      out = new int[l.length];
      for (int k = 0; k < l.length; k++) out[k] = Math.toIntExact(l[k]);
    } else if (flat instanceof short[] s) {
      out = new int[s.length];
      for (int k = 0; k < s.length; k++) out[k] = s[k];
    } else if (flat instanceof byte[] b) {
      out = new int[b.length];
      for (int k = 0; k < b.length; k++) out[k] = b[k];
    } else {
      throw new IllegalArgumentException(file + ": expected an integer dataset, got "
          + flat.getClass().getComponentType());
    }
    return new Ints(raw.dims(), out);
  }

  private record Raw(int[] dims, Object flat) {}

  private static Raw readRaw(Path file) {
    if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": no such HDF5 file");
    try (HdfFile hdf = new HdfFile(file)) {
      Node node = hdf.getChild(DATASET);
      if (!(node instanceof Dataset ds)) {
        throw new IllegalArgumentException(file + ": no dataset named '" + DATASET + "' (has "
            + hdf.getChildren().keySet() + ")");
      }
      return new Raw(ds.getDimensions(), ds.getDataFlat());
    } catch (IllegalArgumentException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(file + ": cannot read HDF5 (" + e.getClass().getSimpleName() + ": "
          + e.getMessage() + ")", e);
    }
  }

  /** e.g. {@code [768, 1024, 3]}. */
  static String describe(int[] shape) {
    return Arrays.toString(shape);
  }
}
