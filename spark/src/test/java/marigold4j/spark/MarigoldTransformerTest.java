package marigold4j.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.image.Npy;
import marigold4j.pipeline.NoiseType;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Spark ML transformer: its columns hold predict's bytes (and the float values), the {@code image} source works
 * too, it persists (alone and in a pipeline), one model serves every task of the JVM, and native memory stays flat
 * over many partitions.
 */
class MarigoldTransformerTest {
  static SparkSession spark;
  @TempDir static Path shared;
  static Path reference;

  @BeforeAll
  static void setUp() throws IOException {
    spark = SparkTests.spark();
    Path in = Files.createDirectories(shared.resolve("in"));
    Files.copy(SparkTests.IMAGES.resolve("photo_living_room_112x68.png"), in.resolve("photo_living_room_112x68.png"));
    reference = shared.resolve("ref");
    SparkTests.predictReference(SparkTests.TINY_DEPTH, in, reference,
        EstimatorSettings.builder().processingRes(64).ensembleSize(1).noise(NoiseType.ZEROS).build(), 3);
  }

  static MarigoldTransformer transformer() {
    return new MarigoldTransformer().setCheckpoint(SparkTests.TINY_DEPTH.toString()).setProcessingRes(64)
        .setSeed(3).setThreads(SparkTests.THREADS);
  }

  static Dataset<Row> binaryFiles(String glob) {
    return spark.read().format("binaryFile").load(SparkTests.IMAGES.resolve(glob).toString());
  }

  @Test
  void columnsHoldPredictsBytesAndTheValuesTheNpyHolds() throws IOException {
    MarigoldTransformer t = transformer().setFormats("npy", "colored", "values");
    Row r = t.transform(binaryFiles("photo_living_room_112x68.png")).first();
    assertThat(r.schema().fieldNames()).containsExactly("path", "modificationTime", "length", "content",
        "depth_values", "depth_npy", "depth_colored", "height", "width", "error");
    assertThat(r.isNullAt(r.fieldIndex("error"))).isTrue();
    byte[] npy = Files.readAllBytes(reference.resolve("depth_npy/photo_living_room_112x68_pred.npy"));
    assertThat((byte[]) r.getAs("depth_npy")).isEqualTo(npy);
    assertThat((byte[]) r.getAs("depth_colored")).isEqualTo(Files.readAllBytes(
        reference.resolve("depth_colored/photo_living_room_112x68_pred_colored.png")));
    float[] expected = Npy.read(reference.resolve("depth_npy/photo_living_room_112x68_pred.npy")).toFloats();
    List<Float> values = r.getList(r.fieldIndex("depth_values"));
    assertThat(values).hasSize(68 * 112);
    for (int i = 0; i < expected.length; i += 97) assertThat(values.get(i)).isEqualTo(expected[i]);
    assertThat(r.<Integer>getAs("height")).isEqualTo(68);
    assertThat(r.<Integer>getAs("width")).isEqualTo(112);
  }

  @Test
  void theImageSourceGivesTheSameMapsAsTheFileBytes() throws IOException {
    Dataset<Row> images = spark.read().format("image")
        .load(SparkTests.IMAGES.resolve("photo_living_room_112x68.png").toString());
    Row r = transformer().setFormats("npy").transform(images).first();
    assertThat(r.isNullAt(r.fieldIndex("error"))).as((String) r.getAs("error")).isTrue();
    assertThat((byte[]) r.getAs("depth_npy"))
        .isEqualTo(Files.readAllBytes(reference.resolve("depth_npy/photo_living_room_112x68_pred.npy")));
  }

  @Test
  void aBadRowIsAnErrorRowAndTheOthersArePredicted() {
    StructType schema = DataTypes.createStructType(List.of(
        DataTypes.createStructField("path", DataTypes.StringType, false),
        DataTypes.createStructField("content", DataTypes.BinaryType, true)));
    List<Row> rows = List.of(RowFactory.create("s3a://bucket/bad.jpg", "garbage".getBytes()),
        RowFactory.create("s3a://bucket/none.png", null));
    Dataset<Row> df = spark.createDataFrame(rows, schema);
    List<Row> out = transformer().transform(df).orderBy("path").collectAsList();
    assertThat(out.get(0).<String>getAs("error")).startsWith("s3a://bucket/bad.jpg: ")
        .contains("not a supported image file");
    assertThat(out.get(1).<String>getAs("error")).isEqualTo("s3a://bucket/none.png: no image bytes (content is null)");
    assertThat(out.get(0).isNullAt(out.get(0).fieldIndex("depth_npy"))).isTrue();
  }

  @Test
  void persistsAloneAndInAPipeline(@TempDir Path tmp) throws IOException {
    MarigoldTransformer t = transformer().setEnsembleSize(1).setFormats("png16").setColorMap("Spectral")
        .setDenoiseSteps(1);
    t.write().overwrite().save(tmp.resolve("t").toString());
    MarigoldTransformer back = MarigoldTransformer.load(tmp.resolve("t").toString());
    assertThat(back.uid()).isEqualTo(t.uid());
    assertThat(back.getOrDefault(back.checkpoint())).isEqualTo(SparkTests.TINY_DEPTH.toString());
    assertThat(back.getOrDefault(back.formats())).containsExactly("png16");
    assertThat(back.callSettings()).isEqualTo(t.callSettings());
    assertThat(back.modelKey()).isEqualTo(t.modelKey());

    Dataset<Row> gray = binaryFiles("synthetic_gray_64x48.png");
    PipelineModel model = new Pipeline().setStages(new PipelineStage[] {t}).fit(gray);
    model.write().overwrite().save(tmp.resolve("p").toString());
    Row r = PipelineModel.load(tmp.resolve("p").toString()).transform(gray).first();
    assertThat(r.isNullAt(r.fieldIndex("error"))).as((String) r.getAs("error")).isTrue();
    assertThat((byte[]) r.getAs("depth_png16")).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
  }

  @Test
  void invalidSettingsFailOnTheDriverNamingTheOption() {
    assertThatThrownBy(() -> transformer().setEnsembleSize(0).transform(binaryFiles("*.png")))
        .hasMessage("--ensemble-size must be 1 or more, got 0");
    assertThatThrownBy(() -> transformer().setFormats("png16", "mesh").transform(binaryFiles("*.png")))
        .hasMessageStartingWith("--formats mesh: not an output of this checkpoint");
    Dataset<Row> noImage = spark.range(3).toDF();
    assertThatThrownBy(() -> transformer().transform(noImage)).hasMessageContaining("no image column");
  }

  /**
   * 32 partitions of one image each, three times over: one model for the JVM (shared by both task threads), and the
   * live native pointers and resident native bytes after the last run no more than after the first.
   */
  @Test
  void oneModelPerJvmAndNativeMemoryFlatAcrossManyPartitions() {
    byte[] png = readUnchecked(SparkTests.IMAGES.resolve("synthetic_rgba_80x60.png"));
    StructType schema = DataTypes.createStructType(List.of(
        DataTypes.createStructField("path", DataTypes.StringType, false),
        DataTypes.createStructField("content", DataTypes.BinaryType, false)));
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 32; i++) rows.add(RowFactory.create("img" + i + ".png", png));
    Dataset<Row> df = spark.createDataFrame(rows, schema).repartition(32);
    MarigoldTransformer t = transformer().setFormats("npy").setProcessingRes(32);
    int loadsBefore = ExecutorModels.loads();
    long[] pointers = new long[3];
    long[] resident = new long[3];
    for (int run = 0; run < 3; run++) {
      long ok = t.transform(df).filter(functions.col("error").isNull()).count();
      assertThat(ok).isEqualTo(32);
      System.gc();
      pointers[run] = Pointer.totalCount();
      resident[run] = Pointer.physicalBytes() - Runtime.getRuntime().totalMemory();
    }
    System.out.printf("native memory over 3 x 32 partitions: live pointers %s, resident native MB %s%n",
        java.util.Arrays.toString(pointers), java.util.Arrays.stream(resident).map(b -> b >> 20).boxed().toList());
    assertThat(ExecutorModels.loads() - loadsBefore).as("models loaded for one key").isLessThanOrEqualTo(1);
    assertThat(pointers[2]).as("live native pointers after run 3 vs run 1").isLessThanOrEqualTo(pointers[0]);
    assertThat(resident[2] - resident[0]).as("resident native bytes grown over 64 partitions").isLessThan(64L << 20);
  }

  private static byte[] readUnchecked(Path p) {
    try {
      return Files.readAllBytes(p);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

}
