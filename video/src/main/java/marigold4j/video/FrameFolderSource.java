package marigold4j.video;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import marigold4j.image.ImageInput;
import marigold4j.image.PilImage;

/**
 * A folder of images (.png, .jpg, .jpeg; sorted by name) taken as one clip at a given frame rate. Every frame must
 * have the first one's size; an unreadable or differently sized frame ends the clip there, as a corrupt video does.
 */
public final class FrameFolderSource implements FrameSource {
  private final Path folder;
  private final List<Path> frames;
  private final double fps;
  private int next;
  private int width = -1;
  private int height = -1;

  /** @throws IllegalArgumentException when the folder holds no images or {@code fps} is not positive */
  public FrameFolderSource(Path folder, double fps) {
    if (!(fps > 0) || Double.isInfinite(fps)) throw new IllegalArgumentException("--fps must be positive, got " + fps);
    if (!Files.isDirectory(folder)) throw new IllegalArgumentException("--frames " + folder + ": not a folder");
    try (Stream<Path> s = Files.list(folder)) {
      frames = s.filter(Files::isRegularFile).filter(FrameFolderSource::isImage).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(folder + ": cannot list folder: " + e.getMessage(), e);
    }
    if (frames.isEmpty()) {
      throw new IllegalArgumentException("--frames " + folder + ": no images (.jpg, .jpeg, .png) in this folder");
    }
    this.folder = folder;
    this.fps = fps;
  }

  private static boolean isImage(Path p) {
    String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
    return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
  }

  @Override
  public String name() {
    Path n = folder.toAbsolutePath().normalize().getFileName();
    return n == null ? "frames" : n.toString().replaceAll("\\p{Cntrl}", "_");
  }

  @Override
  public double fps() {
    return fps;
  }

  @Override
  public int declaredFrames() {
    return frames.size();
  }

  @Override
  public PilImage next() {
    if (next >= frames.size()) return null;
    Path file = frames.get(next);
    PilImage image;
    try {
      image = ImageInput.read(file);
    } catch (RuntimeException e) {
      throw new VideoDecodeException(folder + ": frame " + next + " (" + file.getFileName() + "): " + e.getMessage(),
          next, e);
    }
    if (width < 0) {
      width = image.width();
      height = image.height();
    } else if (image.width() != width || image.height() != height) {
      throw new VideoDecodeException(folder + ": frame " + next + " (" + file.getFileName() + ") is "
          + image.width() + "x" + image.height() + ", the clip's frames are " + width + "x" + height, next, null);
    }
    next++;
    return image;
  }

  @Override
  public void close() {}
}
