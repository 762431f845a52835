package marigold4j.prep;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import marigold4j.testing.Golden;
import marigold4j.testing.TestFiles;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Golden: {@code testdata/preprocess/hypersim} (Marigold's preprocess_hypersim.py on synthetic HDF5 frames in the
 * raw Hypersim layout). PNG pixels, filename lists and meta csv files are compared exactly.
 */
class HypersimPreprocessorTest {
  private static final Path FIX = Golden.fixtures().resolve("preprocess/hypersim");
  private static final Path DATA = FIX.resolve("data/hypersim");
  private static final Path EXPECTED = FIX.resolve("expected/processed");
  @TempDir static Path out;
  static HypersimPreprocessor.Report first;

  @BeforeAll
  static void runOnce() {
    first = new HypersimPreprocessor(options(out.resolve("processed"), null)).run(new HypersimPreprocessor.Listener() {});
  }

  static HypersimPreprocessor.Options options(Path output, Path normalsFrom) {
    return new HypersimPreprocessor.Options(DATA.resolve("raw_data"), DATA.resolve("metadata_images_split_scene_v1.csv"),
        output, normalsFrom, 2);
  }

  @Test
  void processesTheIncludedFramesOfEverySplit() {
    assertThat(first.failures()).isEmpty();
    assertThat(first.processed()).isEqualTo(4); // the row not in the public release is left out
    for (String split : HypersimPreprocessor.SPLITS) assertThat(out.resolve("processed/" + split)).isDirectory();
  }

  @Test
  void writesToneMappedRgbAndMillimetreDepthPngsExactly() throws IOException {
    for (Path expected : pngs(EXPECTED)) {
      Path got = out.resolve("processed").resolve(EXPECTED.relativize(expected).toString());
      PngIo.Samples e = PngIo.read(expected);
      PngIo.Samples g = PngIo.read(got);
      assertThat(g.bands()).as(got.toString()).isEqualTo(e.bands());
      assertThat(g.bitDepth()).as(got.toString()).isEqualTo(e.bitDepth());
      assertThat(g.values()).as(got + " pixels").isEqualTo(e.values());
    }
  }

  @Test
  void writesFilenameListsWithoutTrailingNewlineAndPandasMetaCsv() throws IOException {
    for (String split : HypersimPreprocessor.SPLITS) {
      for (String file : List.of("filename_list_" + split + ".txt", "filename_meta_" + split + ".csv")) {
        assertThat(Files.readString(out.resolve("processed/" + split + "/" + file)))
            .as(file).isEqualTo(Files.readString(EXPECTED.resolve(split + "/" + file)));
      }
    }
  }

  @Test
  void reproducesToneMapScaleAndPlanarDepthProbes() {
    JsonNode frames = Golden.readJson(FIX.resolve("expected/intermediates.json")).get("frames");
    for (JsonNode fr : frames) {
      String fid = String.format("%04d", fr.get("frame_id").asInt());
      Path images = DATA.resolve("raw_data").resolve(fr.get("scene").asText()).resolve("images");
      String cam = fr.get("camera").asText();
      HypersimPreprocessor.Frame f = HypersimPreprocessor.processFrame(
          images.resolve("scene_" + cam + "_final_hdf5/frame." + fid + ".color.hdf5"),
          images.resolve("scene_" + cam + "_geometry_hdf5/frame." + fid + ".depth_meters.hdf5"),
          images.resolve("scene_" + cam + "_geometry_hdf5/frame." + fid + ".render_entity_id.hdf5"));
      assertThat(f.brightnessP90()).isEqualTo(fr.get("brightness_p90_valid").asDouble());
      assertThat(f.toneMapScale()).isEqualTo(fr.get("tonemap_scale").asDouble());
      assertThat(f.invalidRatio()).isEqualTo(fr.get("invalid_ratio").asDouble());
      fr.get("depth_plane_m_at").fields().forEachRemaining(e -> {
        String[] rc = e.getKey().split(",");
        int i = Integer.parseInt(rc[0]) * 1024 + Integer.parseInt(rc[1]);
        assertThat(f.planeDepthM()[i]).as("depth at " + e.getKey()).isEqualTo(e.getValue().asDouble());
      });
    }
  }

  @Test
  void skipsFinishedFramesOnARerunAndWritesTheSameLists(@TempDir Path dir) throws IOException {
    Path output = dir.resolve("processed");
    TestFiles.copyTree(out.resolve("processed"), output);
    Files.delete(output.resolve("train/filename_meta_train.csv"));
    Files.delete(output.resolve("val/ai_001_002/rgb_cam_01_fr0001.png"));
    HypersimPreprocessor.Report again = new HypersimPreprocessor(options(output, null))
        .run(new HypersimPreprocessor.Listener() {});
    assertThat(again.skipped()).isEqualTo(3);
    assertThat(again.processed()).isEqualTo(1);
    for (String split : HypersimPreprocessor.SPLITS) {
      assertThat(Files.readString(output.resolve(split + "/filename_meta_" + split + ".csv")))
          .isEqualTo(Files.readString(EXPECTED.resolve(split + "/filename_meta_" + split + ".csv")));
    }
  }

  @Test
  void reportsAnUnreadableFrameAndGoesOn(@TempDir Path dir) throws IOException {
    Path raw = dir.resolve("raw_data");
    TestFiles.copyTree(DATA.resolve("raw_data"), raw);
    Path color = raw.resolve("ai_001_001/images/scene_cam_00_final_hdf5/frame.0003.color.hdf5");
    Files.write(color, new byte[] {1, 2, 3, 4});
    Files.delete(raw.resolve("ai_001_002/images/scene_cam_01_geometry_hdf5/frame.0001.depth_meters.hdf5"));
    List<String> failed = new ArrayList<>();
    HypersimPreprocessor.Report r = new HypersimPreprocessor(new HypersimPreprocessor.Options(raw,
        DATA.resolve("metadata_images_split_scene_v1.csv"), dir.resolve("processed"), null, 1))
        .run(new HypersimPreprocessor.Listener() {
          @Override
          public void frameFailed(String split, String frame, String reason) {
            failed.add(frame);
          }
        });
    assertThat(r.ok()).isFalse();
    assertThat(r.processed()).isEqualTo(2);
    assertThat(failed).containsExactly("ai_001_001/cam_00/frame.0003", "ai_001_002/cam_01/frame.0001");
    assertThat(r.failures().get(0)).contains("frame.0003.color.hdf5");
    assertThat(r.failures().get(1)).contains("frame.0001.depth_meters.hdf5");
    assertThat(Files.readString(dir.resolve("processed/train/filename_list_train.txt")))
        .isEqualTo("ai_001_001/rgb_cam_00_fr0000.png ai_001_001/depth_plane_cam_00_fr0000.png");
    assertThat(Files.readString(dir.resolve("processed/val/filename_list_val.txt"))).isEmpty();
  }

  @Test
  void copiesDownloadedNormalsIntoTheTrainingLayout(@TempDir Path dir) throws IOException {
    Path from = dir.resolve("downloads");
    Path png = from.resolve("ai_001_001/images/scene_cam_00_geometry_preview/frame.0000.normal_cam.png");
    Files.createDirectories(png.getParent());
    Files.write(png, new byte[] {42});
    Path output = dir.resolve("processed");
    TestFiles.copyTree(out.resolve("processed"), output);
    HypersimPreprocessor.Report r = new HypersimPreprocessor(options(output, from))
        .run(new HypersimPreprocessor.Listener() {});
    assertThat(r.normalsCopied()).isEqualTo(1);
    assertThat(r.normalsMissing()).isEqualTo(3);
    assertThat(output.resolve("normals/ai_001_001/images/scene_cam_00_geometry_preview/frame.0000.normal_cam.png"))
        .hasBinaryContent(new byte[] {42});
  }

  private static List<Path> pngs(Path dir) throws IOException {
    try (var s = Files.walk(dir)) {
      return s.filter(p -> p.toString().endsWith(".png")).sorted().toList();
    }
  }

}
