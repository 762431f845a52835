package marigold4j.cli.serve;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Finished predictions kept in memory for their download links: least recently used first out, bounded by count and
 * by bytes. Ids are 128-bit random hex strings, so one client cannot guess another's results.
 */
final class ResultStore {
  /** A stored result: the files and the stem of their download names. */
  record Entry(ServedModel.Output output, String baseName) {}

  private final SecureRandom random = new SecureRandom();
  private final int maxEntries;
  private final long maxBytes;
  private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);   // access order
  private long bytes;

  ResultStore(int maxEntries, long maxBytes) {
    if (maxEntries < 1) throw new IllegalArgumentException("the result cache must hold at least one result");
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
  }

  /** Stores a result, evicting the least recently used ones beyond the bounds, and returns its new id. */
  synchronized String put(Entry e) {
    byte[] raw = new byte[16];
    random.nextBytes(raw);
    String id = HexFormat.of().formatHex(raw);
    entries.put(id, e);
    bytes += e.output().bytes();
    Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator();
    // the newest entry always stays, even when it alone exceeds the byte budget
    while (entries.size() > 1 && (entries.size() > maxEntries || bytes > maxBytes) && it.hasNext()) {
      Map.Entry<String, Entry> oldest = it.next();
      bytes -= oldest.getValue().output().bytes();
      it.remove();
    }
    return id;
  }

  /** The result, or null when the id is unknown or was evicted. */
  synchronized Entry get(String id) {
    return entries.get(id);
  }

  synchronized int size() {
    return entries.size();
  }
}
