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
      "tiny-geowizard,geowizard,depth+normals", "tiny-sd2-4ch,marigold,depth", "tiny-lotus-depth-g,lotus,depth",
      "tiny-lotus-depth-d,lotus,depth", "tiny-lotus-normal-g,lotus,normals", "tiny-lotus-normal-d,lotus,normals"})
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

  @ParameterizedTest(name = "{0}")
  @CsvSource({"tiny-lotus-depth-g,G", "tiny-lotus-normal-d,D"})
  void lotusIsRecognisedByItsPipelineClassWhateverItsFolderIsCalled(String name, String variant, @TempDir Path tmp)
      throws IOException {
    Path renamed = configCopy(tiny(name), tmp.resolve("model-a"));
    Detection d = Estimators.detect(renamed, renamed.toString());
    assertThat(d.family().name()).isEqualTo("lotus");
    assertThat(((marigold4j.estimator.lotus.LotusFamily) d.family()).variant()).hasValueSatisfying(
        v -> assertThat(v.name()).isEqualTo(variant));
    assertThat(d.evidence()).contains("_class_name 'Lotus" + variant + "Pipeline'").contains("from the name");
  }

  @Test
  void lotusWithoutModelIndexIsRecognisedByItsUnetTaskEmbedding(@TempDir Path tmp) throws IOException {
    Path dir = configCopy(tiny("tiny-lotus-depth-d"), tmp.resolve("lotus-normal-export"));
    Files.delete(dir.resolve("model_index.json"));
    Detection d = Estimators.detect(dir, dir.toString());
    assertThat(d.family().name()).isEqualTo("lotus");
    assertThat(d.maps()).containsExactly(Modality.NORMALS);
    assertThat(d.evidence()).contains("task embedding").contains("in_channels 4");
  }

  @Test
  void aLotusDisparityReleaseIsToldByItsName() {
    Detection d = Estimators.detect(tiny("tiny-lotus-depth-g"), "jingheya/lotus-depth-g-v2-1-disparity");
    assertThat(d.maps()).containsExactly(Modality.DEPTH);
    assertThat(((marigold4j.estimator.lotus.LotusFamily) d.family()).disparity()).isTrue();
    assertThat(d.evidence()).contains("disparity");
    Detection plain = Estimators.detect(tiny("tiny-lotus-depth-g"), "jingheya/lotus-depth-g-v1-0");
    assertThat(((marigold4j.estimator.lotus.LotusFamily) plain.family()).disparity()).isFalse();
  }

  @Test
  void aLotusPipelineWhoseUnetCannotTakeTheTaskEmbeddingIsRefusedNamingTheFile(@TempDir Path tmp)
      throws IOException {
    Path dir = configCopy(tiny("tiny-lotus-depth-g"), tmp.resolve("lotus-depth-g"));
    Files.copy(tiny("tiny-marigold-depth").resolve("unet/config.json"), dir.resolve("unet/config.json"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertThatThrownBy(() -> Estimators.detect(dir, "lotus-depth-g")).isInstanceOf(CheckpointException.class)
        .hasMessageContaining(dir.resolve("unet/config.json").toString())
        .hasMessageContaining("cannot take Lotus' task embedding");
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
        .hasMessageContaining(empty.toString()).hasMessageContaining("[geowizard, marigold-diffusers, lotus, marigold]");
    assertThatThrownBy(() -> Estimators.detect(tmp.resolve("missing"), "missing"))
        .isInstanceOf(CheckpointException.class).hasMessageContaining("not a checkpoint folder");
  }

  @Test
  void everyFamilyIsRegisteredOnce() {
    List<String> names = Estimators.families().stream().map(Family::name).toList();
    assertThat(names).doesNotHaveDuplicates().contains("marigold", "geowizard", "lotus");
    assertThat(names.indexOf("lotus")).as("before the catch-all Marigold family").isLessThan(names.indexOf("marigold"));
  }
}
