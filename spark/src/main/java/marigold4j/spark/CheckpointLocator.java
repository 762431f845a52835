package marigold4j.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.hub.Checkpoints;
import marigold4j.hub.ResolveOptions;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;

/**
 * Where a checkpoint is on this JVM's machine: a local folder as is; a Hugging Face id through the Hub cache (core's
 * {@code hub}: downloaded once per machine, shared by every JVM that uses the same cache); a Hadoop path
 * ({@code hdfs://}, {@code s3a://}, {@code gs://}, ...) copied once per machine into a local folder keyed by the path
 * and its modification time, written under a temporary name and renamed into place, so concurrent executors on one
 * host never see half a copy.
 */
public final class CheckpointLocator {
  private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*://.*");

  /** Folder under which Hadoop-path checkpoints are copied; default {@code java.io.tmpdir}/marigold4j-checkpoints. */
  public static final String COPY_DIR_PROPERTY = "marigold4j.spark.checkpointDir";

  private CheckpointLocator() {}

  /** Whether {@code checkpoint} is a URI with a scheme other than {@code file} (a Hadoop file system's path). */
  public static boolean isHadoopPath(String checkpoint) {
    return SCHEME.matcher(checkpoint).matches() && !checkpoint.startsWith("file:");
  }

  /**
   * The local folder of {@code key}'s checkpoint.
   *
   * @param hadoopConf the driver's Hadoop settings (credentials, endpoints), used for Hadoop paths only
   */
  public static Path locate(ModelKey key, Map<String, String> hadoopConf) {
    String c = key.checkpoint();
    if (c.startsWith("file:")) return Path.of(URI.create(c));
    if (isHadoopPath(c)) return copyOnce(c, hadoopConf);
    ResolveOptions o = ResolveOptions.defaults().withVariant(key.variant()).withOffline(key.offline());
    if (key.cacheDir() != null) o = o.withCacheDir(Path.of(key.cacheDir()));
    if (key.endpoint() != null) o = o.withEndpoint(key.endpoint());
    return Checkpoints.resolve(c, o);
  }

  private static synchronized Path copyOnce(String uri, Map<String, String> hadoopConf) {
    Configuration conf = new Configuration();
    if (hadoopConf != null) hadoopConf.forEach(conf::set);
    org.apache.hadoop.fs.Path src = new org.apache.hadoop.fs.Path(uri);
    try {
      FileSystem fs = src.getFileSystem(conf);
      FileStatus st = fs.getFileStatus(src);
      if (!st.isDirectory()) {
        throw new CheckpointException(Path.of(src.getName()), uri + " is not a folder (pass the checkpoint folder, "
            + "the one holding model_index.json)");
      }
      Path root = Path.of(System.getProperty(COPY_DIR_PROPERTY,
          Path.of(System.getProperty("java.io.tmpdir"), "marigold4j-checkpoints").toString()));
      Path target = root.resolve(src.getName() + "-" + digest(uri + "@" + st.getModificationTime()));
      if (Files.isDirectory(target)) return target;
      Files.createDirectories(root);
      Path tmp = root.resolve(".tmp-" + UUID.randomUUID());
      fs.copyToLocalFile(false, src, new org.apache.hadoop.fs.Path(tmp.toUri()), true);
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException raced) {
        // another JVM on this host finished first: keep its copy
        deleteTree(tmp);
        if (!Files.isDirectory(target)) throw raced;
      }
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException(uri + ": cannot copy the checkpoint: " + e.getMessage(), e);
    }
  }

  private static String digest(String s) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) return;
    try (var s = Files.walk(dir)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    }
  }
}
