package marigold4j.hub;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import marigold4j.checkpoint.CheckpointException;

/**
 * Exclusive locks on lock files, between processes ({@link FileChannel#lock}) and between threads of this JVM (a
 * JVM holds one OS lock per file, and a second {@code lock()} on it from another thread would fail with
 * {@link java.nio.channels.OverlappingFileLockException} instead of waiting).
 */
final class FileLocks {
  private static final ConcurrentHashMap<Path, ReentrantLock> IN_JVM = new ConcurrentHashMap<>();

  private FileLocks() {}

  /** A held lock; closing releases it. The lock file stays (deleting it would race with a waiting process). */
  interface Held extends AutoCloseable {
    @Override
    void close();
  }

  static Held lock(Path lockFile) {
    Path key = lockFile.toAbsolutePath().normalize();
    ReentrantLock jvmLock = IN_JVM.computeIfAbsent(key, k -> new ReentrantLock());
    jvmLock.lock();
    FileChannel channel = null;
    try {
      Files.createDirectories(key.getParent());
      channel = FileChannel.open(key, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock fileLock = channel.lock();
      FileChannel ch = channel;
      return () -> {
        try {
          fileLock.release();
          ch.close();
        } catch (IOException ignored) {
          // closing the channel releases the lock anyway
        } finally {
          jvmLock.unlock();
        }
      };
    } catch (IOException e) {
      try {
        if (channel != null) channel.close();
      } catch (IOException ignored) {
        // already failing
      }
      jvmLock.unlock();
      throw new CheckpointException(key, "cannot lock: " + e.getMessage(), e);
    }
  }
}
