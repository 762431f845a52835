package marigold4j.eval.normals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import marigold4j.image.Npy;
import marigold4j.torch.Tensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The evaluation around the metrics: frames, the model seam, saved-prediction layouts and user errors. */
class DsineEvaluationTest {
  private static final Path CASE = Npz.dsineCase();
  private static final Path DATA = CASE.resolve("data/dsine_eval");
  private static final Path SPLITS = CASE.resolve("DSINE/data/datasets");
  private static final Path PRED = CASE.resolve("prediction");

  @Test
  void frameConversionFlipsOnlySignsAndIsTheIdentityForLub() {
    NormalMap m = new NormalMap(1, 2, new float[] {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f});
    assertThat(NormalFrame.LUB.convert(m, NormalFrame.DATASET)).isSameAs(m);
    assertThat(NormalFrame.RUB.convert(m, NormalFrame.LUB).chw()).containsExactly(-0.1f, -0.2f, 0.3f, 0.4f, 0.5f, 0.6f);
    assertThat(NormalFrame.RDF.convert(m, NormalFrame.LUB).chw())
        .containsExactly(-0.1f, -0.2f, -0.3f, -0.4f, -0.5f, -0.6f);
    assertThat(NormalFrame.RDF.convert(NormalFrame.LUB.convert(m, NormalFrame.RDF), NormalFrame.LUB).chw())
        .containsExactly(m.chw());
  }

  @Test
  void predictionsInAnotherFrameAreConvertedBeforeComparison() {
    List<DsineSample> samples = DsineDataset.IBIMS.samples(DATA, SPLITS);
    DsineEvaluation.PredictionSource lub = DsineEvaluation.savedPredictions(PRED, NormalFrame.LUB);
    DsineEvaluation.PredictionSource rdf = new DsineEvaluation.PredictionSource() { // same normals, stored as RDF
      @Override
      public NormalFrame frame() {
        return NormalFrame.RDF;
      }

      @Override
      public NormalMap predict(DsineSample s) {
        return NormalFrame.LUB.convert(lub.predict(s), NormalFrame.RDF);
      }
    };
    assertThat(DsineEvaluation.evaluate(samples, rdf, null).metrics())
        .isEqualTo(DsineEvaluation.evaluate(samples, lub, null).metrics());
  }

  @Test
  void modelSourceFeedsThePreparedImageWithoutAutogradAndReachesTheSameMetrics() {
    List<DsineSample> samples = DsineDataset.NYUV2.samples(DATA, SPLITS);
    List<Rgb8Image> seen = new ArrayList<>();
    boolean[] gradEnabled = {true};
    NormalsPredictor fake = new NormalsPredictor() {
      private int i;

      @Override
      public NormalFrame frame() {
        return NormalFrame.LUB;
      }

      @Override
      public NormalMap predict(Rgb8Image image) {
        seen.add(image);
        gradEnabled[0] &= org.bytedeco.pytorch.GradMode.is_enabled();
        Tensors.fromFloats(new float[] {1f}, 1); // native allocation released by the evaluation's scope
        return DsineEvaluation.readPrediction(PRED.resolve(samples.get(i++).predictionRelativePath()));
      }
    };
    DsineEvaluation.DatasetResult viaModel = DsineEvaluation.evaluate(samples, DsineEvaluation.model(fake), null);
    DsineEvaluation.DatasetResult saved =
        DsineEvaluation.evaluate(samples, DsineEvaluation.savedPredictions(PRED, NormalFrame.LUB), null);
    assertThat(viaModel.metrics()).isEqualTo(saved.metrics());
    assertThat(gradEnabled[0]).as("grad mode during predict").isFalse();
    Npy.Array firstInput = Npy.read(CASE.resolve("expected/nyuv2/model_input_000.npy"));
    assertThat(seen.get(0).hwc()).containsExactly(firstInput.data());
  }

  @Test
  void reportsProgressPerSample() {
    List<String> done = new ArrayList<>();
    DsineEvaluation.evaluate(DsineDataset.SCANNET.samples(DATA, SPLITS),
        DsineEvaluation.savedPredictions(PRED, NormalFrame.LUB), (s, k, n) -> done.add(k + "/" + n));
    assertThat(done).containsExactly("1/2", "2/2");
  }

  @Test
  void acceptsGeoWizardHwcPredictions(@TempDir Path dir) throws IOException {
    Path chw = PRED.resolve("oasis/val/115793_DT_pred.npy");
    NormalMap m = DsineEvaluation.readPrediction(chw);
    int plane = m.height() * m.width();
    float[] hwc = new float[3 * plane];
    for (int p = 0; p < plane; p++) for (int c = 0; c < 3; c++) hwc[p * 3 + c] = m.chw()[c * plane + p];
    Path file = dir.resolve("hwc.npy");
    Files.write(file, npy(hwc, m.height() + ", " + m.width() + ", 3"));
    assertThat(DsineEvaluation.readPrediction(file).chw()).containsExactly(m.chw());
  }

  @Test
  void listsMissingPredictions(@TempDir Path empty) {
    List<DsineSample> samples = DsineDataset.SINTEL.samples(DATA, SPLITS);
    assertThat(DsineEvaluation.missingPredictions(samples, PRED)).isEmpty();
    assertThat(DsineEvaluation.missingPredictions(samples, empty))
        .containsExactly(empty.resolve("sintel/alley_1/frame_0001_pred.npy"), empty.resolve("sintel/cave_2/frame_0002_pred.npy"));
  }

  @Test
  void refusesPredictionsOfTheWrongSize(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("sintel/alley_1/frame_0001_pred.npy");
    Files.createDirectories(file.getParent());
    Files.write(file, npy(new float[3 * 4 * 5], "3, 4, 5"));
    List<DsineSample> one = DsineDataset.SINTEL.samples(DATA, SPLITS).subList(0, 1);
    assertThatThrownBy(() -> DsineEvaluation.evaluate(one, DsineEvaluation.savedPredictions(dir, NormalFrame.LUB), null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prediction is 4x5")
        .hasMessageContaining("44x104");
  }

  @Test
  void refusesMalformedSplitLines() {
    assertThatThrownBy(() -> DsineSample.of(DsineDataset.NYUV2, "000001.png", DATA))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("000001.png");
  }

  @Test
  void namesAMissingSplitFile(@TempDir Path dir) {
    assertThatThrownBy(() -> DsineDataset.OASIS.samples(DATA, dir))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("oasis/split/val.txt");
  }

  @Test
  void refusesPickleGlobalsOutsideNumpy(@TempDir Path dir) throws IOException {
    Path evil = dir.resolve("evil_normal.pkl");
    Files.write(evil, "\u0080\u0002cos\nsystem\nX\u0002\u0000\u0000\u0000ls\u0085R.".getBytes(
        java.nio.charset.StandardCharsets.ISO_8859_1));
    assertThatThrownBy(() -> OasisNormalPickle.read(evil))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("refusing pickle global os.system");
  }

  @Test
  void readsOasisRoiBoundsFromThePickle() {
    OasisNormalPickle.Roi roi = OasisNormalPickle.read(DATA.resolve("oasis/val/101706_DT_normal.pkl"));
    assertThat(new int[] {roi.minY(), roi.maxY(), roi.minX(), roi.maxX()}).containsExactly(2, 40, 13, 34);
    Npy.Array copy = Npy.read(DATA.resolve("oasis/val/101706_DT_normal.roi.npy"));
    float[] expected = copy.toFloats();
    for (int i = 0; i < expected.length; i++) assertThat((float) roi.normal()[i]).isEqualTo(expected[i]);
  }

  static byte[] npy(float[] values, String shape) {
    String header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape + "), }";
    int total = 10 + header.length() + 1;
    header = header + " ".repeat((64 - total % 64) % 64) + "\n";
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(10 + header.length() + 4 * values.length)
        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
    b.put(header.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    for (float v : values) b.putFloat(v);
    return b.array();
  }
}
