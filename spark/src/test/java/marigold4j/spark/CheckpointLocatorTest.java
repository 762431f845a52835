package marigold4j.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import marigold4j.checkpoint.CheckpointException;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint on a Hadoop file system (here {@code mirror://}, the local disk under another scheme, standing in for
 * {@code hdfs://} or {@code s3a://}) is copied once per machine into a folder keyed by its path and modification
 * time, atomically, and reused by every later lookup.
 */
class CheckpointLocatorTest {
  /** The local file system under the scheme {@code mirror}: every path means the same local path. */
  public static final class MirrorFileSystem extends RawLocalFileSystem {
    /** Files opened for reading, over every instance. */
    static final AtomicInteger OPENS = new AtomicInteger();

    @Override
    public FSDataInputStream open(org.apache.hadoop.fs.Path f, int bufferSize) throws IOException {
      OPENS.incrementAndGet();
      return super.open(f, bufferSize);
    }

    @Override
    public URI getUri() {
      return URI.create("mirror:///");
    }

    @Override
    public String getScheme() {
      return "mirror";
    }
  }

  private static final Map<String, String> CONF = Map.of("fs.mirror.impl", MirrorFileSystem.class.getName(),
      "fs.mirror.impl.disable.cache", "true");

  private static ModelKey key(String checkpoint) {
    return new ModelKey(checkpoint, null, "fp32", "cpu", 0, null, true, null, null, 1);
  }

  @Test
  void aHadoopPathIsCopiedOnceAndReused(@TempDir Path tmp) throws IOException {
    Path src = tmp.resolve("shared/tiny-marigold-depth");
    copyTree(SparkTests.TINY_DEPTH, src);
    Path copies = tmp.resolve("copies");
    String previous = System.setProperty(CheckpointLocator.COPY_DIR_PROPERTY, copies.toString());
    try {
      String uri = "mirror://" + src.toAbsolutePath();
      assertThat(CheckpointLocator.isHadoopPath(uri)).isTrue();
      int opensBefore = MirrorFileSystem.OPENS.get();
      Path first = CheckpointLocator.locate(key(uri), CONF);
      int opened = MirrorFileSystem.OPENS.get() - opensBefore;
      assertThat(opened).as("every file read once").isEqualTo(SparkTests.tree(src).size());
      assertThat(first.getParent()).isEqualTo(copies);
      assertThat(first.getFileName().toString()).startsWith("tiny-marigold-depth-");
      assertThat(SparkTests.tree(first)).as("the copy holds every file, byte for byte")
          .containsExactlyInAnyOrderEntriesOf(SparkTests.tree(src));
      // a second lookup reuses the copy: a file added to it stays, nothing is copied again
      Files.writeString(first.resolve("marker"), "kept");
      Path second = CheckpointLocator.locate(key(uri), CONF);
      assertThat(second).isEqualTo(first);
      assertThat(MirrorFileSystem.OPENS.get() - opensBefore).as("nothing read again").isEqualTo(opened);
      assertThat(second.resolve("marker")).hasContent("kept");
      try (Stream<Path> s = Files.list(copies)) {
        assertThat(s.map(p -> p.getFileName().toString())).as("one copy, no temporary folder left")
            .containsExactly(first.getFileName().toString());
      }
      // the copy is a checkpoint the core loads
      assertThat(first.resolve("model_index.json")).exists();

      Path file = src.resolve("model_index.json");
      assertThatThrownBy(() -> CheckpointLocator.locate(key("mirror://" + file.toAbsolutePath()), CONF))
          .isInstanceOf(CheckpointException.class).hasMessageContaining("is not a folder");
      assertThatThrownBy(() -> CheckpointLocator.locate(key("mirror://" + tmp.resolve("missing").toAbsolutePath()),
          CONF)).hasMessageContaining("cannot copy the checkpoint");
    } finally {
      if (previous == null) {
        System.clearProperty(CheckpointLocator.COPY_DIR_PROPERTY);
      } else {
        System.setProperty(CheckpointLocator.COPY_DIR_PROPERTY, previous);
      }
    }
  }

  @Test
  void localFoldersAndFileUrisAreUsedWhereTheyAre() {
    Path local = SparkTests.TINY_DEPTH.toAbsolutePath();
    assertThat(CheckpointLocator.isHadoopPath(local.toString())).isFalse();
    assertThat(CheckpointLocator.isHadoopPath(local.toUri().toString())).isFalse();
    assertThat(CheckpointLocator.locate(key(local.toUri().toString()), Map.of())).isEqualTo(local);
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : s.toList()) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.createDirectories(t.getParent());
          Files.copy(p, t);                              // follows links: the copy holds the files themselves
        }
      }
    }
  }
}
