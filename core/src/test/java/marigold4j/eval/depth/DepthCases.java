package marigold4j.eval.depth;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import marigold4j.testing.Golden;

/** The depth evaluation fixtures ({@code testdata/eval/depth/<case>}), unpacked into a temporary folder. */
final class DepthCases {
  static final String[] ALL = {"nyu_full", "kitti_full", "eth3d_full", "scannet_mini", "diode_mini",
      "nyu_mini_disparity", "kitti_mini_garg", "eth3d_mini_maxres", "scannet_mini_noalign"};
  static final String[] MINI = {"scannet_mini", "diode_mini", "nyu_mini_disparity", "kitti_mini_garg",
      "eth3d_mini_maxres", "scannet_mini_noalign"};

  private static final ObjectMapper LENIENT = JsonMapper.builder()
      .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

  private DepthCases() {}

  static Path source(String name) {
    return Golden.fixtures().resolve("eval/depth").resolve(name);
  }

  static JsonNode caseJson(String name) {
    return Golden.readJson(source(name).resolve("case.json"));
  }

  /** The per-sample dump; Python's json writes {@code Infinity} for ETH3D's max depth. */
  static JsonNode samplesJson(String name) {
    try {
      return LENIENT.readTree(source(name).resolve("expected/intermediates/samples.json").toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Copies the case into {@code dir} and gunzips its {@code .gz} files in place (the repository keeps them packed). */
  static Path unpack(String name, Path dir) {
    Path src = source(name);
    Path dst = dir.resolve(name);
    try (Stream<Path> files = Files.walk(src)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Path rel = src.relativize(p);
        if (Files.isDirectory(p)) {
          Files.createDirectories(dst.resolve(rel.toString()));
        } else if (p.getFileName().toString().endsWith(".gz")) {
          String plain = rel.toString().substring(0, rel.toString().length() - 3);
          try (InputStream in = new GZIPInputStream(Files.newInputStream(p), 1 << 16)) {
            Files.copy(in, dst.resolve(plain));
          }
        } else if (!rel.startsWith("expected")) {
          Files.copy(p, dst.resolve(rel.toString()));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return dst;
  }

  /** Opens the case's dataset as {@code eval.py} does from the case folder ({@code --base_data_dir data}). */
  static EvalDataset open(Path caseDir, JsonNode caseJson) {
    DatasetConfig cfg = DatasetConfig.read(caseDir.resolve("config.yaml"));
    JsonNode hw = caseJson.path("eth3d_height_width_override");
    if (hw.isArray()) return EvalDataset.open(cfg, caseDir.resolve("data"), caseDir, hw.get(0).asInt(), hw.get(1).asInt());
    return EvalDataset.open(cfg, caseDir.resolve("data"), caseDir);
  }

  static DepthEvaluator.Options options(JsonNode caseJson) {
    JsonNode a = caseJson.path("alignment");
    JsonNode m = caseJson.path("alignment_max_res");
    return new DepthEvaluator.Options(a.isNull() ? Alignment.NONE : Alignment.parse(a.asText()),
        m.isNull() ? null : m.asInt());
  }
}
