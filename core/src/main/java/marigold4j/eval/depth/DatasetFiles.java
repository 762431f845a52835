package marigold4j.eval.depth;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

/**
 * The files of one evaluation dataset: members of the original {@code .tar}, read in place (the archive is indexed
 * once, then members are read by seeking), or, as the original also allows, files under an extracted folder.
 */
abstract sealed class DatasetFiles implements Closeable {
  /** The layout the original's README prescribes, quoted when something is missing. */
  static final String EXPECTED_LAYOUT = "<data-dir>/nyuv2/nyu_labeled_extracted.tar, "
      + "<data-dir>/kitti/kitti_eigen_split_test.tar, <data-dir>/eth3d/eth3d.tar, "
      + "<data-dir>/scannet/scannet_val_sampled_800_1.tar, <data-dir>/diode/diode_val.tar "
      + "(as downloaded from https://share.phys.ethz.ch/~pf/bingkedata/marigold/evaluation_dataset/)";

  /** The contents of a file given by its path relative to the dataset root (as in the filename list). */
  abstract byte[] read(String relativePath);

  abstract boolean exists(String relativePath);

  abstract String location();

  /** A tar archive if {@code path} is a file, else a folder; fails naming the path and the expected layout. */
  static DatasetFiles open(Path path) {
    if (Files.isRegularFile(path)) return new Tar(path);
    if (Files.isDirectory(path)) return new Folder(path);
    throw new IllegalArgumentException("dataset archive " + path + " not found; expected " + EXPECTED_LAYOUT);
  }

  /** Members are looked up as {@code "./" + relative path}, the names {@code tar -C root .} writes. */
  static final class Tar extends DatasetFiles {
    private final Path path;
    private final TarFile tar;
    private final Map<String, TarArchiveEntry> entries = new HashMap<>();

    Tar(Path path) {
      this.path = path;
      try {
        this.tar = new TarFile(path);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read " + path + " as a tar archive: " + e.getMessage(), e);
      }
      // a later member of the same name wins, as in Python's tarfile
      for (TarArchiveEntry e : tar.getEntries()) {
        if (e.isFile()) entries.put(e.getName(), e);
      }
    }

    private TarArchiveEntry entry(String relativePath) {
      TarArchiveEntry e = entries.get("./" + relativePath);
      return e != null ? e : entries.get(relativePath);
    }

    @Override
    byte[] read(String relativePath) {
      TarArchiveEntry e = entry(relativePath);
      if (e == null) {
        throw new IllegalArgumentException("member ./" + relativePath + " not found in " + path
            + " (members are named ./<path from the filename list>, as 'tar -cf X.tar -C <root> .' writes them)");
      }
      try (InputStream in = tar.getInputStream(e)) {
        return in.readAllBytes();
      } catch (IOException ex) {
        throw new UncheckedIOException("reading ./" + relativePath + " from " + path + ": " + ex.getMessage(), ex);
      }
    }

    @Override
    boolean exists(String relativePath) {
      return entry(relativePath) != null;
    }

    @Override
    String location() {
      return path.toString();
    }

    @Override
    public void close() throws IOException {
      tar.close();
    }
  }

  static final class Folder extends DatasetFiles {
    private final Path root;

    Folder(Path root) {
      this.root = root;
    }

    @Override
    byte[] read(String relativePath) {
      Path p = root.resolve(relativePath);
      if (!Files.isRegularFile(p)) {
        throw new IllegalArgumentException("file " + p + " not found (paths of the filename list are relative to "
            + root + ")");
      }
      try {
        return Files.readAllBytes(p);
      } catch (IOException e) {
        throw new UncheckedIOException("reading " + p + ": " + e.getMessage(), e);
      }
    }

    @Override
    boolean exists(String relativePath) {
      return Files.isRegularFile(root.resolve(relativePath));
    }

    @Override
    String location() {
      return root.toString();
    }

    @Override
    public void close() {}
  }
}
