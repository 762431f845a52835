package marigold4j.hub;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Chooses which files of a repository snapshot to fetch. The same filter decides what to download (given the
 * Hub's file list) and whether a cached snapshot is complete (given the files present in the cache), so that offline
 * use can name what is missing.
 */
@FunctionalInterface
public interface FileFilter {

  /** Gives the local path of a repository file, downloading it first when needed (the cache when offline). */
  @FunctionalInterface
  interface Fetcher {
    Path get(String repoFile);
  }

  /**
   * The filter's decision.
   *
   * @param files repository paths to fetch ({@code /}-separated), in order
   * @param missing what the filter needs but the file list lacks, one human-readable item each (empty when complete)
   */
  record Selection(Set<String> files, List<String> missing) {
    public Selection {
      files = Collections.unmodifiableSet(new LinkedHashSet<>(files));  // keeps the order
      missing = List.copyOf(missing);
    }

    public boolean complete() {
      return missing.isEmpty();
    }
  }

  /**
   * Selects files.
   *
   * @param repoFiles every file of the snapshot, {@code /}-separated paths relative to the repository root
   * @param fetch reads a file the decision depends on ({@code model_index.json}, a shard index); only files listed in
   *     {@code repoFiles} may be asked for
   */
  Selection select(List<String> repoFiles, Fetcher fetch);

  /** Every file of the repository. */
  static FileFilter all() {
    return (repoFiles, fetch) -> new Selection(new LinkedHashSet<>(repoFiles), List.of());
  }

  /**
   * What a diffusers pipeline (or a single transformers / diffusers model) needs: {@code model_index.json}, each
   * component's configs and tokenizer files, and the weights of one precision variant.
   *
   * @param variant {@code fp16} etc., or null for the full-precision files
   */
  static FileFilter pipeline(String variant) {
    return new PipelineFiles(variant);
  }
}
