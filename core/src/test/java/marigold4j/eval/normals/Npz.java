package marigold4j.eval.normals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import marigold4j.testing.Golden;

/** Test helper: the arrays of a NumPy {@code .npz} file, and paths into the evaluation fixtures. */
final class Npz {
  private Npz() {}

  static Map<String, NpyArray> read(Path file) {
    Map<String, NpyArray> out = new LinkedHashMap<>();
    try (ZipFile zip = new ZipFile(file.toFile())) {
      for (ZipEntry e : java.util.Collections.list(zip.entries())) {
        byte[] bytes = zip.getInputStream(e).readAllBytes();
        out.put(e.getName().replaceFirst("\\.npy$", ""), NpyArray.parse(bytes, file + "/" + e.getName()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** {@code testdata/eval/normals/dsine_all}. */
  static Path dsineCase() {
    return Golden.fixtures().resolve("eval/normals/dsine_all");
  }

  /** {@code testdata/eval/unit_normals}. */
  static Path units() {
    return Golden.fixtures().resolve("eval/unit_normals");
  }
}
