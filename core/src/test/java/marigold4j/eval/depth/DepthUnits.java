package marigold4j.eval.depth;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import marigold4j.image.Npy;
import marigold4j.testing.Golden;

/** {@code testdata/eval/unit_depth}: single-function goldens of the original's metric, alignment and naming code. */
final class DepthUnits {
  static final JsonNode JSON = Golden.readJson(Golden.fixtures().resolve("eval/unit_depth/depth_units.json"));
  static final Map<String, Npy.Array> ARRAYS =
      Npy.readNpz(Golden.fixtures().resolve("eval/unit_depth/depth_units.npz"));

  private DepthUnits() {}

  static Npy.Array array(String key) {
    Npy.Array a = ARRAYS.get(key);
    if (a == null) throw new IllegalArgumentException("no " + key + " in depth_units.npz; have " + ARRAYS.keySet());
    return a;
  }
}
