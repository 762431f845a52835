package marigold4j.eval.depth;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import marigold4j.fuzz.Invariants;
import org.junit.jupiter.api.Timeout;

/**
 * Depth evaluation inputs: the dataset YAML ({@link DatasetConfig#read}), the filename list and the dataset tar's
 * members ({@link DatasetFiles}). Documented failures: {@link IllegalArgumentException} naming the file, and for the
 * tar an {@link UncheckedIOException} when a member cannot be read (truncated archive).
 */
class DatasetFuzzTest {
  @FuzzTest
  @Timeout(10)
  void yaml(byte[] data) {
    Path file = Invariants.inputFile("dataset_yaml", "data_nyu_test.yaml", data);
    Invariants.check(file.getParent(), file.toString(), () -> DatasetConfig.read(file), IllegalArgumentException.class);
  }

  @FuzzTest
  @Timeout(10)
  void filenameList(byte[] data) {
    Invariants.check(null, "list.txt", () -> EvalDataset.FilenameLists.parse(new java.io.BufferedReader(new java.io.StringReader(
        new String(data, java.nio.charset.StandardCharsets.UTF_8))), "list.txt", DatasetKind.KITTI),
        IllegalArgumentException.class);
  }

  @FuzzTest
  @Timeout(10)
  void tarMembers(byte[] data) {
    Path file = Invariants.inputFile("dataset_tar", "nyu.tar", data);
    Invariants.check(file.getParent(), file.toString(), () -> {
      try (DatasetFiles files = DatasetFiles.open(file)) {
        for (String member : memberNames(file)) {
          if (files.exists(member)) {
            byte[] b = files.read(member);
            if (b.length > data.length) throw new AssertionError("member larger than the archive: " + b.length);
          }
        }
      }
    }, IllegalArgumentException.class, UncheckedIOException.class);
  }

  /** The archive's member names as commons-compress lists them (none when it cannot), without the leading ./ */
  private static java.util.List<String> memberNames(Path tar) {
    java.util.List<String> names = new java.util.ArrayList<>(java.util.List.of("rgb.png", "missing/x.png"));
    try (org.apache.commons.compress.archivers.tar.TarFile t = new org.apache.commons.compress.archivers.tar.TarFile(tar)) {
      for (var e : t.getEntries()) names.add(e.getName().startsWith("./") ? e.getName().substring(2) : e.getName());
    } catch (java.io.IOException | RuntimeException e) {
      // DatasetFiles.open reports it
    }
    return names;
  }
}
