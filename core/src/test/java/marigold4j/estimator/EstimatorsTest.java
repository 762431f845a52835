package marigold4j.estimator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.pipeline.Modality;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Checkpoint detection: by contents first, the name only where the contents say nothing; one answer per folder. */
class EstimatorsTest {
  static Path tiny(String name) {
    return Golden.fixtures().resolve("checkpoints/" + name);
  }

  /** A copy of the checkpoint's configs (detection reads no weights) under another folder name. */
  static Path configCopy(Path source, Path dir) throws IOException {
    Files.createDirectories(dir.resolve("unet"));
    Files.copy(source.resolve("model_index.json"), dir.resolve("model_index.json"));
    Files.copy(source.resolve("unet/config.json"), dir.resolve("unet/config.json"));
    return dir;
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"tiny-marigold-depth,marigold,depth", "tiny-marigold-normals,marigold,normals",
      "tiny-geowizard,geowizard,depth+normals", "tiny-sd2-4ch,marigold,depth"})
  void recognisesEachTinyCheckpoint(String name, String family, String maps) {
    Detection d = Estimators.detect(tiny(name), name);
    assertThat(d.family().name()).isEqualTo(family);
    assertThat(String.join("+", d.maps().stream().map(Modality::cliName).toList())).isEqualTo(maps);
  }

  @Test
  void geoWizardIsRecognisedByItsContentsWhateverItsFolderIsCalled(@TempDir Path tmp) throws IOException {
    Path renamed = configCopy(tiny("tiny-geowizard"), tmp.resolve("my-normal-model"));
    Detection d = Estimators.detect(renamed, renamed.toString());
    assertThat(d.family().name()).isEqualTo("geowizard");
    assertThat(d.maps()).containsExactly(Modality.DEPTH, Modality.NORMALS);
    assertThat(d.evidence()).contains("DepthNormalEstimationPipeline");
  }

  @Test
  void aDeclaredPredictionTypeWinsOverTheName(@TempDir Path tmp) throws IOException {
    Path dir = configCopy(tiny("tiny-marigold-depth"), tmp.resolve("looks-like-depth"));
    String index = Files.readString(dir.resolve("model_index.json"));
    Files.writeString(dir.resolve("model_index.json"), index.replaceFirst("\\{", "{\"prediction_type\": \"normals\","));
    Detection d = Estimators.detect(dir, "org/marigold-depth-model");
    assertThat(d.maps()).containsExactly(Modality.NORMALS);
    assertThat(d.evidence()).isEqualTo("model_index.json: prediction_type 'normals'");
  }

  @Test
  void withoutADeclarationTheNameDecidesAndSaysSo(@TempDir Path tmp) throws IOException {
    Path renamed = configCopy(tiny("tiny-marigold-normals"), tmp.resolve("model-a"));
    assertThat(Estimators.detect(renamed, renamed.toString()).maps()).containsExactly(Modality.DEPTH);
    Detection byId = Estimators.detect(renamed, "GonzaloMG/marigold-e2e-ft-normals");
    assertThat(byId.maps()).containsExactly(Modality.NORMALS);
    assertThat(byId.evidence()).contains("GonzaloMG/marigold-e2e-ft-normals").contains("no prediction_type");
  }

  @Test
  void aUserChoiceNarrowsASingleMapDetection() {
    Detection d = Estimators.detect(tiny("tiny-marigold-depth"), "tiny-marigold-depth").only(Modality.NORMALS, "x");
    assertThat(d.maps()).containsExactly(Modality.NORMALS);
    assertThat(d.family().name()).isEqualTo("marigold");
  }

  @Test
  void aFolderOfNoKnownFamilyIsAClearError(@TempDir Path tmp) throws IOException {
    Path empty = Files.createDirectories(tmp.resolve("empty"));
    assertThatThrownBy(() -> Estimators.detect(empty, "empty")).isInstanceOf(CheckpointException.class)
        .hasMessageContaining(empty.toString()).hasMessageContaining("[geowizard, marigold-diffusers, marigold]");
    assertThatThrownBy(() -> Estimators.detect(tmp.resolve("missing"), "missing"))
        .isInstanceOf(CheckpointException.class).hasMessageContaining("not a checkpoint folder");
  }

  @Test
  void everyFamilyIsRegisteredOnce() {
    List<String> names = Estimators.families().stream().map(Family::name).toList();
    assertThat(names).doesNotHaveDuplicates().contains("marigold", "geowizard");
  }
}
