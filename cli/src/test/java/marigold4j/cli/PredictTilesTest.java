package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import marigold4j.image.Npy;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code predict --tiles}: native-size outputs under the usual names, the untiled result for an image the processing
 * resolution covers, and bad tile options refused in one line before the model loads.
 */
class PredictTilesTest {
  static final Path CATS = Golden.fixtures().resolve("images/photo_coco_cats_128x96.png");

  /** The cats photo enlarged to 200 x 150 (bicubic): 3 x 2 tiles of 96 px. */
  private static Path largerPhoto(Path dir) throws IOException {
    BufferedImage src = ImageIO.read(CATS.toFile());
    BufferedImage big = new BufferedImage(200, 150, BufferedImage.TYPE_INT_RGB);
    java.awt.Graphics2D g = big.createGraphics();
    g.setRenderingHint(java.awt.RenderingHints.KEY_INTERPOLATION, java.awt.RenderingHints.VALUE_INTERPOLATION_BICUBIC);
    g.drawImage(src, 0, 0, 200, 150, null);
    g.dispose();
    Path file = dir.resolve("big.png");
    ImageIO.write(big, "png", file.toFile());
    return file;
  }

  private static List<String> files(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).map(f -> dir.relativize(f).toString().replace('\\', '/')).sorted()
          .toList();
    }
  }

  @ParameterizedTest
  @CsvSource({"tiny-marigold-depth,depth_npy/big_pred.npy,200x150",
      "tiny-lotus-normal-d,normal/big.npy,200x150x3"})
  void tilesWriteNativeSizeOutputsUnderTheUsualNames(String checkpoint, String npy, String shape,
      @TempDir Path tmp) throws IOException {
    Path image = largerPhoto(tmp);
    Path ckpt = Golden.fixtures().resolve("checkpoints/" + checkpoint);
    CliRun plain = CliRun.of("predict", "--checkpoint", ckpt.toString(), "--processing-res", "64", "--seed", "1",
        "-o", tmp.resolve("plain").toString(), image.toString());
    CliRun tiled = CliRun.of("predict", "--checkpoint", ckpt.toString(), "--processing-res", "64", "--seed", "1",
        "--tiles", "--tile-size", "96", "--tile-overlap", "24", "-o", tmp.resolve("tiled").toString(),
        image.toString());
    assertThat(tiled.exitCode()).as(tiled.err()).isZero();
    assertThat(tiled.err()).contains("big: 200x150 in 6 tiles of 96 px (3 x 2, overlap at least 24 px)")
        .contains("big tiles: 6/6");
    assertThat(files(tmp.resolve("tiled"))).isEqualTo(files(tmp.resolve("plain")));
    Npy.Array a = Npy.read(tmp.resolve("tiled").resolve(npy));
    long[] want = shape.equals("200x150") ? new long[] {150, 200} : new long[] {150, 200, 3};
    assertThat(a.shape()).containsExactly(want);
    for (String f : files(tmp.resolve("tiled"))) {
      if (!f.endsWith(".png")) continue;
      BufferedImage png = ImageIO.read(tmp.resolve("tiled").resolve(f).toFile());
      assertThat(png.getWidth() + "x" + png.getHeight()).as(f).isEqualTo("200x150");
    }
  }

  @Test
  void anImageTheProcessingResolutionCoversIsPredictedAsWithoutTiles(@TempDir Path tmp) throws IOException {
    Path ckpt = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth");
    CliRun plain = CliRun.of("predict", "--checkpoint", ckpt.toString(), "--processing-res", "128", "--seed", "1",
        "-o", tmp.resolve("plain").toString(), CATS.toString());
    CliRun tiled = CliRun.of("predict", "--checkpoint", ckpt.toString(), "--processing-res", "128", "--seed", "1",
        "--tiles", "-o", tmp.resolve("tiled").toString(), CATS.toString());
    assertThat(tiled.exitCode()).isZero();
    assertThat(tiled.err()).doesNotContain("tiles of");
    for (String f : files(tmp.resolve("plain"))) {
      assertThat(Files.readAllBytes(tmp.resolve("tiled").resolve(f))).as(f)
          .isEqualTo(Files.readAllBytes(tmp.resolve("plain").resolve(f)));
    }
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "--tiles --tile-size 64 --tile-overlap 64|--tile-overlap (64 px) must be smaller than --tile-size (64 px)",
      "--tiles --tile-overlap -5|--tile-overlap must be 0 px or more, got -5",
      "--tiles --tile-size 32|--tile-size must be 64 px or more, got 32",
      "--tiles --processing-res 256 --tile-overlap 300|--tile-overlap (300 px) must be smaller than the tile size "
          + "(256 px, the processing resolution unless --tile-size is given)",
      "--tile-size 128|--tile-size needs --tiles",
      "--tiles --output-processing-res|--tiles writes maps at the input's size from the whole image's tiles: it "
          + "cannot be combined with --output-processing-res, --output-latent or --latents"})
  void badTileOptionsAreOneLineBeforeTheModelLoads(String options, String message, @TempDir Path tmp) {
    Path out = tmp.resolve("o");
    List<String> args = new java.util.ArrayList<>(List.of("predict", "--offline", "--checkpoint",
        tmp.resolve("not-downloaded").toString(), "-o", out.toString(), CATS.toString()));
    args.addAll(List.of(options.split(" ")));
    CliRun r = CliRun.of(args.toArray(new String[0]));
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).isEqualTo("error: " + message + System.lineSeparator());
    assertThat(out).doesNotExist();
  }

  @Test
  void helpExplainsTheTileOptions() {
    CliRun r = CliRun.of("predict", "--help");
    String help = r.out().replaceAll("\\s+", " ");
    assertThat(help).contains("--tiles").contains("--tile-size=PX").contains("--tile-overlap=PX")
        .contains("Default: a quarter of the tile size").contains("Default: the processing resolution");
  }
}
