package marigold4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * The malloc that serves this process's native memory, PyTorch's tensors included. It changes CPU times by a quarter:
 * glibc maps every large tensor afresh and unmaps it when freed, so each layer's output is page-faulted in again,
 * while tcmalloc and jemalloc reuse freed memory. The {@code marigold4j} launcher preloads one when it is installed
 * (docs/performance.md); {@code bench} reports which one ran.
 */
enum NativeAllocator {
  TCMALLOC("tcmalloc", "libtcmalloc"),
  JEMALLOC("jemalloc", "libjemalloc"),
  SYSTEM("system", null);

  private final String label;
  private final String libraryPrefix;

  NativeAllocator(String label, String libraryPrefix) {
    this.label = label;
    this.libraryPrefix = libraryPrefix;
  }

  /** As reported: "tcmalloc", "jemalloc" or "system" (glibc on Linux). */
  String label() {
    return label;
  }

  static NativeAllocator current() {
    return fromMaps(Path.of("/proc/self/maps"));
  }

  /**
   * The allocator whose library a {@code /proc/PID/maps} file shows mapped; {@link #SYSTEM} when neither is, or when
   * the file cannot be read (not Linux).
   */
  static NativeAllocator fromMaps(Path maps) {
    try (Stream<String> lines = Files.lines(maps)) {
      return lines.map(NativeAllocator::ofMapping).filter(a -> a != SYSTEM).findFirst().orElse(SYSTEM);
    } catch (IOException | RuntimeException e) {
      return SYSTEM;
    }
  }

  /** The allocator a maps line's file belongs to (its last field, the mapped path), or {@link #SYSTEM}. */
  private static NativeAllocator ofMapping(String line) {
    int slash = line.lastIndexOf('/');
    if (slash < 0) return SYSTEM;
    String file = line.substring(slash + 1);
    for (NativeAllocator a : values()) {
      if (a.libraryPrefix != null && file.startsWith(a.libraryPrefix)) return a;
    }
    return SYSTEM;
  }
}
