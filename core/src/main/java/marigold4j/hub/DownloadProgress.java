package marigold4j.hub;

/**
 * Receives progress of the files being downloaded, one file at a time (the CLI draws a progress bar per file). Files
 * already in the cache are not reported. Calls come from the downloading thread.
 */
public interface DownloadProgress {
  /** Reports nothing. */
  DownloadProgress NONE = new DownloadProgress() {};

  /**
   * A file download starts (or resumes).
   *
   * @param file the file's path in the repository, e.g. {@code unet/diffusion_pytorch_model.safetensors}
   * @param totalBytes the file's size, -1 when the server does not say
   * @param initialBytes bytes already on disk from an interrupted download (resumed, not downloaded again)
   */
  default void started(String file, long totalBytes, long initialBytes) {}

  /** {@code bytesDone} of the file are on disk (including the resumed part). */
  default void advanced(String file, long bytesDone) {}

  /** The file is complete and verified. */
  default void finished(String file) {}
}
