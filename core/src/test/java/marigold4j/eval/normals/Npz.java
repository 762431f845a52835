package marigold4j.eval.normals;

import java.nio.file.Path;
import marigold4j.testing.Golden;

/** Test helper: paths into the normals evaluation fixtures (their {@code .npz} files are read with {@code Npy}). */
final class Npz {
  private Npz() {}

  /** {@code testdata/eval/normals/dsine_all}. */
  static Path dsineCase() {
    return Golden.fixtures().resolve("eval/normals/dsine_all");
  }

  /** {@code testdata/eval/unit_normals}. */
  static Path units() {
    return Golden.fixtures().resolve("eval/unit_normals");
  }
}
