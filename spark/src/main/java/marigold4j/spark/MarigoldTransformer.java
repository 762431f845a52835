package marigold4j.spark;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import marigold4j.estimator.DensePrediction.Convention;
import marigold4j.estimator.Detection;
import marigold4j.estimator.Estimators;
import marigold4j.pipeline.Modality;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * marigold4j as a Spark ML {@link Transformer}: takes a DataFrame of images — the {@code binaryFile} source's
 * {@code content} (and {@code path}), or the {@code image} source's {@code image} struct — and adds, per predicted
 * map, one column per output format ({@code depth_npy}, {@code depth_png16}, {@code depth_colored},
 * {@code depth_uncertainty}, ... holding the bytes of the file {@code predict} writes, or {@code depth_values}, the
 * float values), plus {@code height}, {@code width} (of the maps) and {@code error} (null, or the path and what went
 * wrong: a bad image never fails the job).
 *
 * <p>Params have {@code predict}'s names and defaults. The model is loaded once per executor JVM and
 * {@link ModelKey} and shared by its tasks ({@link ExecutorModels}); every row runs in its own native-memory scope.
 * Persist it with {@link #write()} / {@link #load(String)} (or in a {@code PipelineModel}).
 */
public final class MarigoldTransformer extends Transformer implements DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  /** The column holding a row's failure (null when it was predicted). */
  public static final String ERROR = "error";

  private final String uid;
  private final Param<String> checkpoint;
  private final Param<String> modality;
  private final Param<String> precision;
  private final Param<String> device;
  private final IntParam threads;
  private final IntParam concurrency;
  private final Param<String> variant;
  private final BooleanParam offline;
  private final Param<String> cacheDir;
  private final Param<String> endpoint;
  private final IntParam processingRes;
  private final BooleanParam outputProcessingRes;
  private final IntParam denoiseSteps;
  private final IntParam ensembleSize;
  private final LongParam seed;
  private final Param<String> noise;
  private final Param<String> timestepSpacing;
  private final Param<String> resampleMethod;
  private final IntParam batchSize;
  private final Param<String> colorMap;
  private final Param<String> domain;
  private final Param<String> ensembleReduction;
  private final BooleanParam outputUncertainty;
  private final StringArrayParam formats;
  private final Param<String> inputCol;
  private final Param<String> pathCol;

  public MarigoldTransformer() {
    this(Identifiable$.MODULE$.randomUID("marigold4j"));
  }

  public MarigoldTransformer(String uid) {
    this.uid = uid;
    checkpoint = new Param<>(this, "checkpoint", "checkpoint folder, Hugging Face id (org/name[@revision]) or "
        + "Hadoop path of a checkpoint folder (copied once per executor)");
    modality = new Param<>(this, "modality", "depth or normals, for single-map checkpoints (default: detected)");
    precision = new Param<>(this, "precision", "fp32, bf16 or fp16");
    device = new Param<>(this, "device", "cpu, cuda or cuda:N");
    threads = new IntParam(this, "threads", "engine threads per executor model; 0 = the machine's cores divided "
        + "by concurrency");
    concurrency = new IntParam(this, "concurrency", "models (predictions at once) per executor JVM");
    variant = new Param<>(this, "variant", "weight variant, e.g. fp16");
    offline = new BooleanParam(this, "offline", "take Hub models from the local cache only");
    cacheDir = new Param<>(this, "cacheDir", "Hugging Face cache folder on the executors");
    endpoint = new Param<>(this, "endpoint", "Hugging Face Hub address");
    processingRes = new IntParam(this, "processingRes", "long edge before inference; 0 = native resolution "
        + "(default: the checkpoint's)");
    outputProcessingRes = new BooleanParam(this, "outputProcessingRes", "keep outputs at the processing resolution");
    denoiseSteps = new IntParam(this, "denoiseSteps", "denoising steps (default: the checkpoint's)");
    ensembleSize = new IntParam(this, "ensembleSize", "predictions ensembled per image");
    seed = new LongParam(this, "seed", "random seed; every image's call is seeded with it");
    noise = new Param<>(this, "noise", "initial latent: zeros, gaussian or pyramid");
    timestepSpacing = new Param<>(this, "timestepSpacing", "DDIM timestep spacing: trailing or leading");
    resampleMethod = new Param<>(this, "resampleMethod", "interpolation of the resizes: bilinear, bicubic, nearest");
    batchSize = new IntParam(this, "batchSize", "ensemble members per batch; 0 = automatic");
    colorMap = new Param<>(this, "colorMap", "colour map of the visualisations (default: Spectral)");
    domain = new Param<>(this, "domain", "GeoWizard scene domain: indoor, outdoor or object");
    ensembleReduction = new Param<>(this, "ensembleReduction", "diffusers checkpoints: median, mean or closest");
    outputUncertainty = new BooleanParam(this, "outputUncertainty", "diffusers checkpoints: also the ensemble's "
        + "uncertainty (ensembleSize 2 or more)");
    formats = new StringArrayParam(this, "formats", "output formats as columns <map>_<format>: npy, png16, colored, "
        + "uncertainty, uncertainty_npy, latent (the bytes of predict's files) and values (float array); "
        + "empty = every file predict writes");
    inputCol = new Param<>(this, "inputCol", "image column: binary encoded bytes (binaryFile's content) or the "
        + "image source's struct; empty = content if present, else image");
    pathCol = new Param<>(this, "pathCol", "column naming each image (errors name it); empty = path if present, "
        + "else image.origin");
    setDefault(checkpoint, "GonzaloMG/marigold-e2e-ft-depth");
    setDefault(modality, "");
    setDefault(precision, "fp32");
    setDefault(device, "cpu");
    setDefault(threads, 0);
    setDefault(concurrency, 1);
    setDefault(variant, "");
    setDefault(offline, false);
    setDefault(cacheDir, "");
    setDefault(endpoint, "");
    setDefault(processingRes, -1);
    setDefault(outputProcessingRes, false);
    setDefault(denoiseSteps, -1);
    setDefault(ensembleSize, 1);
    setDefault(seed, 0L);
    setDefault(noise, "zeros");
    setDefault(timestepSpacing, "trailing");
    setDefault(resampleMethod, "bilinear");
    setDefault(batchSize, 0);
    setDefault(colorMap, "");
    setDefault(domain, "indoor");
    setDefault(ensembleReduction, "");
    setDefault(outputUncertainty, false);
    setDefault(formats, new String[0]);
    setDefault(inputCol, "");
    setDefault(pathCol, "");
  }

  @Override
  public String uid() {
    return uid;
  }

  // Params: public no-argument getters are how Spark finds them (explainParams, persistence)

  public Param<String> checkpoint() { return checkpoint; }
  public Param<String> modality() { return modality; }
  public Param<String> precision() { return precision; }
  public Param<String> device() { return device; }
  public IntParam threads() { return threads; }
  public IntParam concurrency() { return concurrency; }
  public Param<String> variant() { return variant; }
  public BooleanParam offline() { return offline; }
  public Param<String> cacheDir() { return cacheDir; }
  public Param<String> endpoint() { return endpoint; }
  public IntParam processingRes() { return processingRes; }
  public BooleanParam outputProcessingRes() { return outputProcessingRes; }
  public IntParam denoiseSteps() { return denoiseSteps; }
  public IntParam ensembleSize() { return ensembleSize; }
  public LongParam seed() { return seed; }
  public Param<String> noise() { return noise; }
  public Param<String> timestepSpacing() { return timestepSpacing; }
  public Param<String> resampleMethod() { return resampleMethod; }
  public IntParam batchSize() { return batchSize; }
  public Param<String> colorMap() { return colorMap; }
  public Param<String> domain() { return domain; }
  public Param<String> ensembleReduction() { return ensembleReduction; }
  public BooleanParam outputUncertainty() { return outputUncertainty; }
  public StringArrayParam formats() { return formats; }
  public Param<String> inputCol() { return inputCol; }
  public Param<String> pathCol() { return pathCol; }

  public MarigoldTransformer setCheckpoint(String v) { set(checkpoint, v); return this; }
  public MarigoldTransformer setModality(String v) { set(modality, v); return this; }
  public MarigoldTransformer setPrecision(String v) { set(precision, v); return this; }
  public MarigoldTransformer setDevice(String v) { set(device, v); return this; }
  public MarigoldTransformer setThreads(int v) { set(threads, v); return this; }
  public MarigoldTransformer setConcurrency(int v) { set(concurrency, v); return this; }
  public MarigoldTransformer setVariant(String v) { set(variant, v); return this; }
  public MarigoldTransformer setOffline(boolean v) { set(offline, v); return this; }
  public MarigoldTransformer setCacheDir(String v) { set(cacheDir, v); return this; }
  public MarigoldTransformer setEndpoint(String v) { set(endpoint, v); return this; }
  public MarigoldTransformer setProcessingRes(int v) { set(processingRes, v); return this; }
  public MarigoldTransformer setOutputProcessingRes(boolean v) { set(outputProcessingRes, v); return this; }
  public MarigoldTransformer setDenoiseSteps(int v) { set(denoiseSteps, v); return this; }
  public MarigoldTransformer setEnsembleSize(int v) { set(ensembleSize, v); return this; }
  public MarigoldTransformer setSeed(long v) { set(seed, v); return this; }
  public MarigoldTransformer setNoise(String v) { set(noise, v); return this; }
  public MarigoldTransformer setTimestepSpacing(String v) { set(timestepSpacing, v); return this; }
  public MarigoldTransformer setResampleMethod(String v) { set(resampleMethod, v); return this; }
  public MarigoldTransformer setBatchSize(int v) { set(batchSize, v); return this; }
  public MarigoldTransformer setColorMap(String v) { set(colorMap, v); return this; }
  public MarigoldTransformer setDomain(String v) { set(domain, v); return this; }
  public MarigoldTransformer setEnsembleReduction(String v) { set(ensembleReduction, v); return this; }
  public MarigoldTransformer setOutputUncertainty(boolean v) { set(outputUncertainty, v); return this; }
  public MarigoldTransformer setFormats(String... v) { set(formats, v); return this; }
  public MarigoldTransformer setInputCol(String v) { set(inputCol, v); return this; }
  public MarigoldTransformer setPathCol(String v) { set(pathCol, v); return this; }

  /** The model these params load. */
  public ModelKey modelKey() {
    return new ModelKey(getOrDefault(checkpoint), blankToNull(getOrDefault(modality)), getOrDefault(precision),
        getOrDefault(device), (Integer) getOrDefault(threads), blankToNull(getOrDefault(variant)),
        (Boolean) getOrDefault(offline), blankToNull(getOrDefault(cacheDir)), blankToNull(getOrDefault(endpoint)),
        (Integer) getOrDefault(concurrency));
  }

  /** The per-image settings these params give (checked: an invalid value fails here, naming the option). */
  public CallSettings callSettings() {
    CallSettings s = new CallSettings(unsetIfNegative(denoiseSteps), (Integer) getOrDefault(ensembleSize),
        unsetIfNegative(processingRes), (Boolean) getOrDefault(outputProcessingRes), getOrDefault(resampleMethod),
        null, null, (Integer) getOrDefault(batchSize), blankToNull(getOrDefault(colorMap)), getOrDefault(noise),
        getOrDefault(timestepSpacing), getOrDefault(domain), blankToNull(getOrDefault(ensembleReduction)),
        (Boolean) getOrDefault(outputUncertainty), null, null, (Long) getOrDefault(seed));
    s.toEstimatorSettings();
    return s;
  }

  /** What the checkpoint predicts, in the convention of its family's files (read on the driver, once per key). */
  public record Description(List<Modality> maps, Convention convention, Path folder) {}

  private static final Map<ModelKey, Description> DESCRIPTIONS = new ConcurrentHashMap<>();

  /**
   * The checkpoint's maps and file convention, detected on the driver from its configs (the driver resolves the
   * checkpoint as the executors do: Hub cache, or one copy of a Hadoop path).
   */
  public Description describe(Map<String, String> hadoopConf) {
    ModelKey key = modelKey();
    return DESCRIPTIONS.computeIfAbsent(key, k -> {
      Path dir = CheckpointLocator.locate(k, hadoopConf);
      Detection d = Estimators.detect(dir, k.checkpoint());
      if (k.modality() != null && d.maps().size() == 1) d = d.only(Modality.parse(k.modality()), "--modality");
      return new Description(d.maps(), d.family().convention(), dir);
    });
  }

  /** The map columns this transformer adds, in order. */
  public List<OutputColumn> outputColumns(Map<String, String> hadoopConf) {
    Description d = describe(hadoopConf);
    String[] f = getOrDefault(formats);
    return OutputColumn.of(d.maps(), d.convention(), f.length == 0 ? null : Arrays.asList(f),
        (Integer) getOrDefault(ensembleSize) > 1);
  }

  @Override
  public StructType transformSchema(StructType schema) {
    inputIndex(schema);
    List<StructField> fields = new ArrayList<>(Arrays.asList(schema.fields()));
    for (OutputColumn c : outputColumns(hadoopConf(SparkSession.active()))) {
      if (schema.getFieldIndex(c.column()).isDefined()) {
        throw new IllegalArgumentException("the input already has a column " + c.column());
      }
      DataType t = c.binary() ? DataTypes.BinaryType : DataTypes.createArrayType(DataTypes.FloatType, false);
      fields.add(DataTypes.createStructField(c.column(), t, true));
    }
    fields.add(DataTypes.createStructField("height", DataTypes.IntegerType, true));
    fields.add(DataTypes.createStructField("width", DataTypes.IntegerType, true));
    fields.add(DataTypes.createStructField(ERROR, DataTypes.StringType, true));
    return DataTypes.createStructType(fields);
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    StructType in = dataset.schema();
    StructType out = transformSchema(in);
    Map<String, String> conf = hadoopConf(dataset.sparkSession());
    int[] idx = inputIndex(in);
    PredictPartition fn = new PredictPartition(modelKey(), callSettings(), outputColumns(conf), conf, idx[0], idx[1],
        idx[2]);
    return dataset.toDF().mapPartitions(fn, Encoders.row(out));
  }

  /** {content index or -1, image index or -1, path index or -1} of {@code schema}. */
  private int[] inputIndex(StructType schema) {
    String col = getOrDefault(inputCol);
    if (col.isEmpty()) col = has(schema, "content") ? "content" : has(schema, "image") ? "image" : null;
    if (col == null || !has(schema, col)) {
      throw new IllegalArgumentException("no image column" + (col == null ? "" : " '" + col + "'") + " in "
          + Arrays.toString(schema.fieldNames()) + ": read images with spark.read.format(\"binaryFile\") (content) or "
          + "format(\"image\") (image), or set inputCol");
    }
    DataType t = schema.apply(col).dataType();
    int content = -1;
    int image = -1;
    if (t instanceof BinaryType) {
      content = schema.fieldIndex(col);
    } else if (t instanceof StructType st && has(st, "data") && has(st, "nChannels")) {
      image = schema.fieldIndex(col);
    } else {
      throw new IllegalArgumentException("column '" + col + "' is " + t.simpleString() + ": expected binary (encoded "
          + "image bytes) or the image source's struct");
    }
    String p = getOrDefault(pathCol);
    if (p.isEmpty()) p = has(schema, "path") ? "path" : null;
    if (p != null && !has(schema, p)) throw new IllegalArgumentException("no path column '" + p + "'");
    return new int[] {content, image, p == null ? -1 : schema.fieldIndex(p)};
  }

  private static boolean has(StructType s, String name) {
    return s.getFieldIndex(name).isDefined();
  }

  /** The driver's Hadoop settings, shipped to the executors only when the checkpoint is a Hadoop path. */
  private Map<String, String> hadoopConf(SparkSession spark) {
    Map<String, String> m = new HashMap<>();
    if (!CheckpointLocator.isHadoopPath(getOrDefault(checkpoint))) return m;
    for (Map.Entry<String, String> e : spark.sparkContext().hadoopConfiguration()) m.put(e.getKey(), e.getValue());
    return m;
  }

  private Integer unsetIfNegative(IntParam p) {
    int v = (Integer) getOrDefault(p);
    return v < 0 ? null : v;
  }

  private static String blankToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  @Override
  public MarigoldTransformer copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  /** Reads a transformer saved with {@link #write()}. */
  public static MLReader<MarigoldTransformer> read() {
    return new DefaultParamsReader<>();
  }

  public static MarigoldTransformer load(String path) {
    return read().load(path);
  }

  @SuppressWarnings("unused")
  private static final Class<?> ARRAY = ArrayType.class;
}
