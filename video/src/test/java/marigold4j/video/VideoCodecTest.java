package marigold4j.video;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import marigold4j.image.PilImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Encoding and decoding through FFmpeg: frame count, rate, size and content survive the round trip. */
class VideoCodecTest {
  @TempDir Path tmp;

  @Test
  void roundTripKeepsFrameCountRateSizeAndContent() {
    List<PilImage> frames = TestClips.panning(12);
    Path clip = TestClips.write(tmp.resolve("pan.mp4"), frames, 12);
    try (VideoFileSource s = new VideoFileSource(clip)) {
      assertThat(s.fps()).isCloseTo(12.0, within(1e-6));
      assertThat(s.width()).isEqualTo(TestClips.WIDTH);
      assertThat(s.height()).isEqualTo(TestClips.HEIGHT);
      assertThat(s.declaredFrames()).isEqualTo(12);
      assertThat(s.name()).isEqualTo("pan");
    }
    List<PilImage> decoded = TestClips.decode(clip);
    assertThat(decoded).hasSize(12);
    for (int t = 0; t < 12; t++) {
      // H.264 is lossy: within 6 of 255 levels on average (a frame of the wrong time differs by more, see below)
      assertThat(TestClips.meanAbsDiff(decoded.get(t), frames.get(t))).as("frame %d", t).isLessThan(6);
    }
    assertThat(TestClips.meanAbsDiff(decoded.get(0), frames.get(6))).as("frames in order")
        .isGreaterThan(TestClips.meanAbsDiff(decoded.get(0), frames.get(0)) + 2);
    assertThat(tmp.toFile().list()).as("no temporary file left").containsExactly("pan.mp4");
  }

  @Test
  void ntscRateIsKept() {
    Path clip = TestClips.write(tmp.resolve("ntsc.mp4"), TestClips.panning(4), 30000.0 / 1001);
    try (VideoFileSource s = new VideoFileSource(clip)) {
      assertThat(s.fps()).isCloseTo(29.97003, within(1e-4));
    }
  }

  @Test
  void oddSizesArePaddedToEvenOnes() {
    PilImage odd = TestClips.crop(TestClips.photo(), 0, 0, 95, 63);
    Path clip = TestClips.write(tmp.resolve("odd.mp4"), List.of(odd, odd), 10);
    List<PilImage> decoded = TestClips.decode(clip);
    assertThat(decoded).hasSize(2);
    assertThat(decoded.get(0).width()).isEqualTo(96);
    assertThat(decoded.get(0).height()).isEqualTo(64);
    assertThat(TestClips.meanAbsDiff(TestClips.crop(decoded.get(0), 0, 0, 95, 63), odd)).isLessThan(6);
  }

  @Test
  void truncatedFileStopsAtTheFrameItEndsWithEarlierFramesDelivered() throws IOException {
    Path clip = TestClips.write(tmp.resolve("cut.mp4"), TestClips.panning(24), 12);
    byte[] all = Files.readAllBytes(clip);
    Files.write(clip, java.util.Arrays.copyOf(all, all.length * 6 / 10));
    int delivered = 0;
    VideoDecodeException stop = null;
    try (VideoFileSource s = new VideoFileSource(clip)) {
      while (true) {
        PilImage f;
        try {
          f = s.next();
        } catch (VideoDecodeException e) {
          stop = e;
          break;
        }
        if (f == null) break;
        delivered++;
      }
    }
    assertThat(stop).as("a truncated file is reported").isNotNull();
    assertThat(stop.frame()).isEqualTo(delivered);
    assertThat(delivered).isBetween(1, 23);
    assertThat(stop.getMessage()).contains("cut.mp4").contains("frame " + delivered);
  }

  @Test
  void garbageFailsAtFrameZeroNamingTheFile() throws IOException {
    Path bad = Files.write(tmp.resolve("bad.mp4"), "not a video at all".repeat(50).getBytes());
    assertThatThrownBy(() -> new VideoFileSource(bad)).isInstanceOf(VideoDecodeException.class)
        .hasMessageContaining("bad.mp4").hasMessageContaining("frame 0");
  }

  /** Writes the panning clip in another container and codec with FFmpeg directly (the library writes MP4 only). */
  private Path writeWith(String file, String format, int codec, int pixelFormat, List<PilImage> frames, double fps)
      throws Exception {
    Path out = tmp.resolve(file);
    try (org.bytedeco.javacv.FFmpegFrameRecorder r = new org.bytedeco.javacv.FFmpegFrameRecorder(out.toFile(),
        TestClips.WIDTH, TestClips.HEIGHT, 0)) {
      r.setFormat(format);
      r.setVideoCodec(codec);
      r.setPixelFormat(pixelFormat);
      r.setFrameRate(fps);
      r.setVideoBitrate(2_000_000);
      r.start();
      org.bytedeco.javacv.Frame f = new org.bytedeco.javacv.Frame(TestClips.WIDTH, TestClips.HEIGHT,
          org.bytedeco.javacv.Frame.DEPTH_UBYTE, 3);
      for (PilImage p : frames) {
        java.nio.ByteBuffer b = (java.nio.ByteBuffer) f.image[0];
        for (int y = 0; y < TestClips.HEIGHT; y++) {
          b.put(y * f.imageStride, p.pixels(), y * TestClips.WIDTH * 3, TestClips.WIDTH * 3);
        }
        r.record(f, org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB24);
      }
      r.stop();
    }
    return out;
  }

  @Test
  void everyAcceptedContainerDecodesCompletelyWithoutAFalseTruncation() throws Exception {
    List<PilImage> frames = TestClips.panning(15);
    int yuv = org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUV420P;
    Path[] clips = {
        writeWith("a.mkv", "matroska", org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_H264, yuv, frames, 15),
        writeWith("a.webm", "webm", org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_VP9, yuv, frames, 15),
        writeWith("a.avi", "avi", org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_MPEG4, yuv, frames, 15),
        writeWith("a.mov", "mov", org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_MJPEG,
            org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUVJ420P, frames, 15)};
    for (Path clip : clips) {
      assertThat(VideoFiles.isVideo(clip)).isTrue();
      try (VideoFileSource s = new VideoFileSource(clip)) {
        assertThat(s.fps()).as("%s fps", clip.getFileName()).isCloseTo(15.0, within(1e-3));
      }
      List<PilImage> decoded = TestClips.decode(clip);
      assertThat(decoded).as("%s frames", clip.getFileName()).hasSize(15);
      assertThat(TestClips.meanAbsDiff(decoded.get(7), frames.get(7))).as("%s content", clip.getFileName())
          .isLessThan(8);
    }
  }

  @Test
  void frameFolderStopsAtAnUnreadableOrDifferentlySizedFrame() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("frames"));
    Path photo = marigold4j.testing.Golden.fixtures().resolve("images/photo_living_room_112x68.png");
    Files.copy(photo, dir.resolve("a0.png"));
    Files.copy(photo, dir.resolve("a1.png"));
    Files.write(dir.resolve("a2.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
    Files.copy(marigold4j.testing.Golden.fixtures().resolve("images/synthetic_gray_64x48.png"), dir.resolve("a3.png"));
    try (FrameFolderSource s = new FrameFolderSource(dir, 10)) {
      assertThat(s.declaredFrames()).isEqualTo(4);
      assertThat(s.name()).isEqualTo("frames");
      assertThat(s.next().width()).isEqualTo(112);
      assertThat(s.next()).isNotNull();
      assertThatThrownBy(s::next).isInstanceOf(VideoDecodeException.class).hasMessageContaining("frame 2 (a2.png)")
          .satisfies(e -> assertThat(((VideoDecodeException) e).frame()).isEqualTo(2));
    }
    Files.delete(dir.resolve("a2.png"));
    try (FrameFolderSource s = new FrameFolderSource(dir, 10)) {
      s.next();
      s.next();
      assertThatThrownBy(s::next).isInstanceOf(VideoDecodeException.class)
          .hasMessageContaining("frame 2 (a3.png) is 64x48, the clip's frames are 112x68");
    }
    assertThatThrownBy(() -> new FrameFolderSource(tmp, 0)).hasMessageContaining("--fps must be positive");
  }

  @Test
  void videoExtensions() {
    assertThat(VideoFiles.isVideo(Path.of("a/Clip.MP4"))).isTrue();
    assertThat(VideoFiles.isVideo(Path.of("x.webm"))).isTrue();
    assertThat(VideoFiles.isVideo(Path.of("x.mkv"))).isTrue();
    assertThat(VideoFiles.isVideo(Path.of("x.png"))).isFalse();
  }
}
