package marigold4j.video;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import marigold4j.image.ImageInput;
import marigold4j.image.PilImage;
import marigold4j.testing.Golden;

/** Short clips made from the fixture photo and encoded with the library, for the tests. */
final class TestClips {
  static final int WIDTH = 96;
  static final int HEIGHT = 64;

  private TestClips() {}

  /** The fixture photo (112x68) as RGB. */
  static PilImage photo() {
    PilImage p = ImageInput.read(Golden.fixtures().resolve("images/photo_living_room_112x68.png"));
    return new PilImage(PilImage.Mode.RGB, p.width(), p.height(), p.rgbPixels());
  }

  /** A panning clip: 96x64 windows of the photo moving one pixel right per frame. */
  static List<PilImage> panning(int frames) {
    PilImage photo = photo();
    List<PilImage> out = new ArrayList<>();
    for (int t = 0; t < frames; t++) out.add(crop(photo, t % (photo.width() - WIDTH), 2, WIDTH, HEIGHT));
    return out;
  }

  /** A static-camera clip: the same window every frame, with sensor-like noise of +-{@code amplitude} levels. */
  static List<PilImage> staticCamera(int frames, int amplitude, long seed) {
    PilImage base = crop(photo(), 8, 2, WIDTH, HEIGHT);
    Random r = new Random(seed);
    List<PilImage> out = new ArrayList<>();
    for (int t = 0; t < frames; t++) {
      byte[] px = base.pixels().clone();
      for (int i = 0; i < px.length; i++) {
        int v = (px[i] & 0xff) + r.nextInt(2 * amplitude + 1) - amplitude;
        px[i] = (byte) Math.max(0, Math.min(255, v));
      }
      out.add(new PilImage(PilImage.Mode.RGB, WIDTH, HEIGHT, px));
    }
    return out;
  }

  /**
   * A static-camera clip with a light that switches: the same window every frame, a {@code size} x {@code size}
   * patch in the top-left corner white on odd frames and black on even ones. Only the patch changes, but a model that
   * normalises every frame to its own range moves the whole frame's depth when the patch moves an extreme.
   */
  static List<PilImage> blinking(int frames, int size) {
    PilImage base = crop(photo(), 8, 2, WIDTH, HEIGHT);
    List<PilImage> out = new ArrayList<>();
    for (int t = 0; t < frames; t++) {
      byte[] px = base.pixels().clone();
      byte v = (byte) (t % 2 == 1 ? 255 : 0);
      for (int y = 0; y < size; y++) java.util.Arrays.fill(px, y * WIDTH * 3, (y * WIDTH + size) * 3, v);
      out.add(new PilImage(PilImage.Mode.RGB, WIDTH, HEIGHT, px));
    }
    return out;
  }

  static PilImage crop(PilImage p, int x0, int y0, int w, int h) {
    byte[] out = new byte[w * h * 3];
    for (int y = 0; y < h; y++) System.arraycopy(p.pixels(), ((y0 + y) * p.width() + x0) * 3, out, y * w * 3, w * 3);
    return new PilImage(PilImage.Mode.RGB, w, h, out);
  }

  /** Encodes {@code frames} as an H.264 MP4 at {@code fps} with the library's encoder. */
  static Path write(Path file, List<PilImage> frames, double fps) {
    try (VideoEncoder v = new VideoEncoder(file, frames.get(0).width(), frames.get(0).height(), fps)) {
      for (PilImage f : frames) v.write(f.pixels());
    }
    return file;
  }

  /** Every frame of a video, decoded. */
  static List<PilImage> decode(Path file) {
    List<PilImage> out = new ArrayList<>();
    try (VideoFileSource s = new VideoFileSource(file)) {
      for (PilImage f = s.next(); f != null; f = s.next()) out.add(f);
    }
    return out;
  }

  /** Mean absolute difference of two images' bytes. */
  static double meanAbsDiff(PilImage a, PilImage b) {
    long sum = 0;
    for (int i = 0; i < a.pixels().length; i++) sum += Math.abs((a.pixels()[i] & 0xff) - (b.pixels()[i] & 0xff));
    return (double) sum / a.pixels().length;
  }
}
