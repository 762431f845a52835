package marigold4j.spark;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import marigold4j.estimator.DensePrediction.Convention;
import marigold4j.estimator.OutputFormats;
import marigold4j.pipeline.Modality;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.io.BytesWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.mapreduce.lib.output.FileOutputFormat;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.util.CollectionAccumulator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import scala.Tuple2;

/**
 * {@code spark-submit --class marigold4j.spark.SparkPredict}: {@code predict} as a Spark job. Reads images from any
 * Hadoop-compatible path or glob, predicts them on the executors with {@link MarigoldTransformer}, and writes the
 * files {@code predict} writes (same folders and names, from core's {@code OutputFormats}), or with
 * {@code --parquet} the map columns as Parquet. Both go through Spark's commit protocol; inputs already done are
 * skipped on a re-run.
 */
@Command(name = "spark-predict", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Run predict as an Apache Spark job: the same settings, the same output files (or Parquet), any "
        + "Hadoop-compatible input and output path (file://, hdfs://, s3a://, gs://, abfs://, globs).",
        "Local mode by default (--master local[*]); under spark-submit the cluster's master is used."})
public final class SparkPredict implements Callable<Integer> {
  static final String DEFAULT_CHECKPOINT = "GonzaloMG/marigold-e2e-ft-depth";
  private static final String NAME = "<NAME>";
  private static final Pattern LOCAL = Pattern.compile("local\\[(\\*|\\d+)]");

  @Spec CommandSpec spec;

  @Option(names = "--master", paramLabel = "URL",
      description = "Spark master (local[N], spark://host:7077, yarn, k8s://...). local[N] retries a failed task up to "
          + "3 times as a cluster does (local[N,4]). Default: spark-submit's, else local[*].")
  String master;

  @Option(names = {"--input", "--input-rgb-dir", "--input_rgb_dir", "--input_dir", "--input-dir"}, paramLabel = "PATH",
      description = "Images (.jpg, .jpeg, .png): a folder, a file or a glob, on any Hadoop file system. Repeatable.")
  List<String> inputs = new ArrayList<>();

  @Option(names = {"-o", "--output", "--output-dir", "--output_dir"}, paramLabel = "DIR",
      description = "Output folder on any Hadoop file system (created if needed). Required.")
  String output;

  @Option(names = "--parquet",
      description = "Write Parquet (path, the map columns, height, width, error) instead of predict's files.")
  boolean parquet;

  @Option(names = "--formats", split = ",", paramLabel = "KIND[,KIND...]",
      description = "With --parquet: the map columns to write (npy, png16, colored, uncertainty, uncertainty_npy, "
          + "values = float arrays). Default: every file predict writes.")
  List<String> formats;

  @Option(names = "--skip-existing", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "Skip inputs whose outputs exist already (files: all of predict's files of the image; Parquet: a "
          + "row without error). --no-skip-existing predicts everything again. Default: ${DEFAULT-VALUE}.")
  boolean skipExisting;

  @Option(names = "--partitions", paramLabel = "N",
      description = "At least N tasks over the inputs (more tasks balance slow images better). Default: 4 x the "
          + "cluster's cores.")
  Integer partitions;

  @Option(names = "--concurrency", paramLabel = "N", defaultValue = "1",
      description = "Models per executor (predictions at once); one per GPU on GPU executors. "
          + "Default: ${DEFAULT-VALUE}.")
  int concurrency;

  @Option(names = "--recursive", description = "Also take images from sub-folders of folder inputs.")
  boolean recursive;

  @Option(names = {"--checkpoint", "--pretrained_model_path", "--pretrained_model_name_or_path",
      "--pretrained-model-name-or-path"}, paramLabel = "ID_OR_DIR",
      description = "Checkpoint folder (local to every executor), Hugging Face id (resolved through each machine's "
          + "Hub cache), or Hadoop path of a checkpoint folder (copied once per machine). Default: "
          + DEFAULT_CHECKPOINT)
  String checkpoint = DEFAULT_CHECKPOINT;

  @Option(names = {"--modality", "--task_name", "--task-name"}, paramLabel = "depth|normals",
      description = "What a single-map checkpoint predicts. Default: detected, as predict.")
  String modality;

  @Option(names = {"--denoise-steps", "--denoise_steps"}, paramLabel = "N",
      description = "Denoising steps. Default: the checkpoint's default_denoising_steps, else 1 (E2E-FT).")
  Integer denoiseSteps;

  @Option(names = {"--ensemble-size", "--ensemble_size"}, paramLabel = "N", defaultValue = "1",
      description = "Predictions to ensemble per image. Default: ${DEFAULT-VALUE}.")
  int ensembleSize;

  @Option(names = {"--timestep-spacing", "--timestep_spacing"}, paramLabel = "trailing|leading",
      defaultValue = "trailing", description = "DDIM timestep spacing. Default: ${DEFAULT-VALUE}.")
  String timestepSpacing;

  @Option(names = "--noise", paramLabel = "zeros|gaussian|pyramid", defaultValue = "zeros",
      description = "Initial latent. Default: ${DEFAULT-VALUE} (E2E-FT).")
  String noise;

  @Option(names = {"--processing-res", "--processing_res"}, paramLabel = "PX",
      description = "Long edge before inference; 0 = native resolution. Default: the checkpoint's, else 768.")
  Integer processingRes;

  @Option(names = {"--output-processing-res", "--output_processing_res"},
      description = "Keep the output at the processing resolution.")
  boolean outputProcessingRes;

  @Option(names = "--seed", paramLabel = "N",
      description = "Random seed. Every image's call is seeded with it (diffusers checkpoints: as predict; run.py "
          + "families: as predict does for a single image, since Spark has no image order). Default: the current "
          + "time.")
  Long seed;

  @Option(names = {"--batch-size", "--batch_size"}, paramLabel = "N", defaultValue = "0",
      description = "Ensemble members per batch; 0 = automatic. Default: ${DEFAULT-VALUE}.")
  int batchSize;

  @Option(names = {"--resample-method", "--resample_method"}, paramLabel = "bilinear|bicubic|nearest",
      defaultValue = "bilinear", description = "Interpolation of the resizes. Default: ${DEFAULT-VALUE}.")
  String resampleMethod;

  @Option(names = {"--ensemble-reduction", "--ensemble_reduction"}, paramLabel = "median|mean|closest",
      description = "diffusers checkpoints: how ensemble members are combined. Default: median, normals closest.")
  String ensembleReduction;

  @Option(names = {"--output-uncertainty", "--output_uncertainty"},
      description = "diffusers checkpoints: also write the ensemble's uncertainty; needs --ensemble-size 2 or more.")
  boolean outputUncertainty;

  @Option(names = {"--color-map", "--color_map"}, paramLabel = "NAME",
      description = "Colour map of the depth visualisation. Default: Spectral.")
  String colorMap;

  @Option(names = "--domain", paramLabel = "indoor|outdoor|object", defaultValue = "indoor",
      description = "GeoWizard checkpoints only: the scene domain. Default: ${DEFAULT-VALUE}.")
  String domain;

  @Option(names = {"--half-precision", "--half_precision"},
      description = "bfloat16 on CPU, float16 on CUDA (same as --precision bf16 / fp16).")
  boolean halfPrecision;

  @Option(names = "--precision", paramLabel = "fp32|bf16|fp16", description = "Numeric precision. Default: fp32.")
  String precision;

  @Option(names = "--variant", paramLabel = "NAME", description = "Weight variant to load, e.g. fp16.")
  String variant;

  @Option(names = "--device", paramLabel = "cpu|cuda|cuda:N", defaultValue = "cpu",
      description = "Where the executors run the model (cuda needs the -Pgpu build). Default: ${DEFAULT-VALUE}.")
  String device;

  @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
      description = "Engine threads per model; 0 = the executor machine's cores / --concurrency. "
          + "Default: ${DEFAULT-VALUE}.")
  int threads;

  @Option(names = "--offline", description = "Take Hub models from the local cache only.")
  boolean offline;

  @Option(names = "--cache-dir", paramLabel = "DIR", description = "Hub cache folder (on every machine).")
  String cacheDir;

  @Option(names = "--endpoint", paramLabel = "URL", description = "Hub address, e.g. a mirror.")
  String endpoint;

  /** Test hook: the first attempt of this partition's task fails after writing one image's outputs. */
  @Option(names = "--fail-first-attempt", paramLabel = "PARTITION", hidden = true)
  Integer failFirstAttempt;

  /** What a run did (tests read it). */
  public record Summary(long inputs, long skipped, long predicted, List<String> errors) {}

  Summary summary;

  public static void main(String[] args) {
    int code = run(args);
    System.exit(code);
  }

  /** Runs the command line, returning its exit status (0 done, 1 some images failed, 2 bad usage or setup). */
  public static int run(String... args) {
    return commandLine(new SparkPredict()).execute(args);
  }

  static CommandLine commandLine(SparkPredict command) {
    CommandLine cl = new CommandLine(command);
    cl.setExecutionExceptionHandler((e, line, parsed) -> {
      Throwable t = e;
      while (t.getCause() != null && !(t instanceof IllegalArgumentException) && !(t instanceof UncheckedIOException)
          && !(t instanceof marigold4j.checkpoint.CheckpointException)) {
        t = t.getCause();
      }
      line.getErr().println("error: " + (t.getMessage() == null ? t.toString() : t.getMessage()));
      return 2;
    });
    return cl;
  }

  @Override
  public Integer call() throws IOException {
    PrintWriter err = spec.commandLine().getErr();
    if (inputs.isEmpty()) throw new IllegalArgumentException("missing required option --input PATH (see --help)");
    if (output == null) throw new IllegalArgumentException("missing required option --output DIR (or -o DIR)");
    if (formats != null && !parquet) throw new IllegalArgumentException("--formats needs --parquet");
    if (partitions != null && partitions < 1) {
      throw new IllegalArgumentException("--partitions must be 1 or more, got " + partitions);
    }
    if (precision != null && halfPrecision) {
      throw new IllegalArgumentException("give either --half-precision or --precision, not both");
    }
    String p = precision != null ? precision
        : halfPrecision ? (device.startsWith("cuda") ? "fp16" : "bf16") : "fp32";
    long s = seed != null ? seed : System.currentTimeMillis() / 1000;
    MarigoldTransformer t = new MarigoldTransformer().setCheckpoint(checkpoint).setPrecision(p).setDevice(device)
        .setThreads(threads).setConcurrency(concurrency).setOffline(offline).setEnsembleSize(ensembleSize)
        .setNoise(noise).setTimestepSpacing(timestepSpacing).setResampleMethod(resampleMethod)
        .setBatchSize(batchSize).setDomain(domain).setOutputProcessingRes(outputProcessingRes)
        .setOutputUncertainty(outputUncertainty).setSeed(s);
    if (modality != null) t.setModality(Modality.parse(modality).cliName());
    if (variant != null) t.setVariant(variant);
    if (cacheDir != null) t.setCacheDir(cacheDir);
    if (endpoint != null) t.setEndpoint(endpoint);
    if (denoiseSteps != null) t.setDenoiseSteps(denoiseSteps);
    if (processingRes != null) t.setProcessingRes(processingRes);
    if (colorMap != null) t.setColorMap(colorMap);
    if (ensembleReduction != null) t.setEnsembleReduction(ensembleReduction);
    if (formats != null) t.setFormats(formats.toArray(String[]::new));
    CallSettings settings = t.callSettings();            // every value checked before Spark starts
    t.modelKey();

    SparkSession spark = session();
    spark.sparkContext().setLogLevel(System.getProperty("marigold4j.spark.logLevel", "WARN"));
    Configuration hconf = spark.sparkContext().hadoopConfiguration();
    MarigoldTransformer.Description d = t.describe(hadoopConf(hconf));
    checkFamilyOptions(d, settings);
    List<OutputColumn> columns = t.outputColumns(hadoopConf(hconf));
    String what = String.join("+", d.maps().stream().map(Modality::cliName).toList());

    Dataset<Row> images = listInputs(spark);
    // one job counts the inputs and their distinct names (a second one only when names repeat or outputs exist)
    Row counts = images.agg(functions.count(functions.lit(1)), functions.countDistinct(images.col("name"))).first();
    long total = counts.getLong(0);
    Dataset<Row> todo = images;
    if (skipExisting) todo = parquet ? notInParquet(spark, images) : notWritten(spark, images, d);
    long remaining = todo == images ? total : todo.count();
    if (remaining < total) {
      err.printf("--skip-existing: %d of %d images already have their outputs%n", total - remaining, total);
    }
    if (remaining == 0) {
      spec.commandLine().getOut().printf("%s: nothing to do, every image has its outputs in %s%n", what, output);
      summary = new Summary(total, total, 0, List.of());
      return 0;
    }
    if (!parquet && counts.getLong(1) < total) warnDuplicateNames(todo, err);
    err.printf("Predicting %s for %d images with %s (%s) on %s%n", what, remaining, checkpoint,
        d.folder(), spark.sparkContext().master());
    err.flush();

    long start = System.nanoTime();
    List<String> errors;
    Dataset<Row> predicted = t.transform(todo);
    if (parquet) {
      errors = writeParquet(predicted, columns);
    } else {
      errors = writeFiles(spark, predicted, columns, hconf);
    }
    double secs = (System.nanoTime() - start) / 1e9;
    for (String e : errors) err.println("error: " + e);
    spec.commandLine().getOut().printf(Locale.ROOT, "%s: %d of %d images in %.1f s (%.2f s/image)%s -> %s%n", what,
        remaining - errors.size(), remaining, secs, secs / remaining,
        errors.isEmpty() ? "" : ", " + errors.size() + " failed", output);
    summary = new Summary(total, total - remaining, remaining - errors.size(), errors);
    return errors.isEmpty() ? 0 : 1;
  }

  /** The active session, or one for {@code --master} (local[N] with 4 attempts per task, as clusters allow). */
  private SparkSession session() {
    SparkSession.Builder b = SparkSession.builder().appName("marigold4j spark-predict");
    String m = master;
    if (m == null && System.getProperty("spark.master") == null) m = "local[*]";
    if (m != null) {
      Matcher lm = LOCAL.matcher(m);
      b.master(lm.matches() ? "local[" + lm.group(1) + ",4]" : m);
    }
    if (partitions != null) b.config("spark.sql.files.minPartitionNum", partitions);
    SparkSession spark = b.getOrCreate();
    if (partitions == null) {
      spark.conf().set("spark.sql.files.minPartitionNum", 4 * spark.sparkContext().defaultParallelism());
    } else {
      spark.conf().set("spark.sql.files.minPartitionNum", partitions);
    }
    return spark;
  }

  /** path, name (predict's output base name) and content of every input image. */
  private Dataset<Row> listInputs(SparkSession spark) {
    Dataset<Row> df = spark.read().format("binaryFile").option("recursiveFileLookup", recursive)
        .load(inputs.toArray(String[]::new));
    df = df.filter(functions.lower(df.col("path")).rlike("\\.(jpe?g|png)$"));
    Column name = functions.regexp_replace(
        functions.regexp_replace(functions.regexp_extract(df.col("path"), "([^/]*)$", 1), "^(.+)\\.[^.]*$", "$1"),
        "\\p{Cntrl}", "_");
    return df.select(df.col("path"), name.as("name"), df.col("content"));
  }

  /** Images without every file predict writes for them (its --skip-existing), by listing the output folders. */
  private Dataset<Row> notWritten(SparkSession spark, Dataset<Row> images, MarigoldTransformer.Description d)
      throws IOException {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(output);
    FileSystem fs = out.getFileSystem(conf);
    Set<String> existing = new HashSet<>();
    for (String folder : OutputFormats.folders(d.maps(), d.convention())) {
      org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(out, folder);
      if (!fs.exists(dir)) continue;
      for (FileStatus st : fs.listStatus(dir)) {
        if (st.isFile()) existing.add(folder + "/" + st.getPath().getName());
      }
    }
    if (existing.isEmpty()) return images;
    // a name is done when every file predict writes for it exists: <folder>/<name><suffix> for each required file
    Set<String> done = null;
    for (Path f : OutputFormats.files(d.maps(), d.convention(), Path.of(""), NAME)) {
      String[] parts = f.toString().split(Pattern.quote(NAME), -1);
      Set<String> names = new HashSet<>();
      for (String e : existing) {
        if (e.startsWith(parts[0]) && e.endsWith(parts[1]) && e.length() > parts[0].length() + parts[1].length()) {
          names.add(e.substring(parts[0].length(), e.length() - parts[1].length()));
        }
      }
      if (done == null) done = names;
      else done.retainAll(names);
    }
    if (done == null || done.isEmpty()) return images;
    Dataset<Row> doneNames = spark.createDataset(new ArrayList<>(done), org.apache.spark.sql.Encoders.STRING())
        .toDF("name");
    return images.join(doneNames, images.col("name").equalTo(doneNames.col("name")), "left_anti");
  }

  /** Images without an error-free row in the Parquet output already. */
  private Dataset<Row> notInParquet(SparkSession spark, Dataset<Row> images) throws IOException {
    org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(output);
    FileSystem fs = out.getFileSystem(spark.sparkContext().hadoopConfiguration());
    if (!fs.exists(out) || fs.listStatus(out, pt -> pt.getName().endsWith(".parquet")).length == 0) return images;
    Dataset<Row> done = spark.read().parquet(output).filter(functions.col(MarigoldTransformer.ERROR).isNull())
        .select("path").distinct();
    return images.join(done, images.col("path").equalTo(done.col("path")), "left_anti");
  }

  private void warnDuplicateNames(Dataset<Row> todo, PrintWriter err) {
    List<Row> dup = todo.groupBy("name").count().filter(functions.col("count").gt(1)).limit(10).collectAsList();
    for (Row r : dup) {
      err.printf("warning: %d inputs are named %s; their outputs overwrite each other%n", r.getLong(1),
          r.getString(0).replaceAll("\\p{Cntrl}", "?"));
    }
  }

  private List<String> writeParquet(Dataset<Row> predicted, List<OutputColumn> columns) {
    List<Column> keep = new ArrayList<>();
    keep.add(functions.col("path"));
    for (OutputColumn c : columns) keep.add(functions.col(c.column()));
    keep.add(functions.col("height"));
    keep.add(functions.col("width"));
    keep.add(functions.col(MarigoldTransformer.ERROR));
    Dataset<Row> out = predicted.select(keep.toArray(Column[]::new));
    CollectionAccumulator<String> errors = out.sparkSession().sparkContext().collectionAccumulator("marigold4j errors");
    int errIdx = out.schema().fieldIndex(MarigoldTransformer.ERROR);
    Integer fail = failFirstAttempt;
    // errors are counted in the write's own tasks: a successful task's updates are applied once, a failed one's never
    out = out.mapPartitions(countErrors(errors, errIdx, fail), org.apache.spark.sql.Encoders.row(out.schema()));
    out.write().mode(SaveMode.Append).parquet(output);
    return errors.value().stream().sorted().toList();
  }

  /** Passes rows through, adding each row's error to {@code errors} (and the test hook). */
  private static org.apache.spark.api.java.function.MapPartitionsFunction<Row, Row> countErrors(
      CollectionAccumulator<String> errors, int errIdx, Integer fail) {
    return rows -> {
      Iterator<Row> checked = injectFailure(rows, fail);
      return new Iterator<>() {
        @Override
        public boolean hasNext() {
          return checked.hasNext();
        }

        @Override
        public Row next() {
          Row r = checked.next();
          if (!r.isNullAt(errIdx)) errors.add(r.getString(errIdx));
          return r;
        }
      };
    };
  }

  /** The test hook: rows of {@code partition}'s first task attempt, failing after the first. */
  static <T> Iterator<T> injectFailure(Iterator<T> rows, Integer partition) {
    TaskContext tc = TaskContext.get();
    if (partition == null || tc.partitionId() != partition || tc.attemptNumber() != 0) return rows;
    return new Iterator<>() {
      int n;

      @Override
      public boolean hasNext() {
        if (n == 1) throw new IllegalStateException("injected failure of task attempt 0 (test hook)");
        return rows.hasNext();
      }

      @Override
      public T next() {
        n++;
        return rows.next();
      }
    };
  }

  /**
   * predict's files: each row's binary map columns become files {@code <folder>/<name><suffix>}, written by
   * {@link RelativeFilesOutputFormat} through Spark's commit protocol; failed rows are reported, not written.
   */
  private List<String> writeFiles(SparkSession spark, Dataset<Row> predicted, List<OutputColumn> columns,
      Configuration conf) throws IOException {
    CollectionAccumulator<String> errors = spark.sparkContext().collectionAccumulator("marigold4j errors");
    int nameIdx = predicted.schema().fieldIndex("name");
    int errIdx = predicted.schema().fieldIndex(MarigoldTransformer.ERROR);
    int[] colIdx = columns.stream().mapToInt(c -> predicted.schema().fieldIndex(c.column())).toArray();
    List<OutputColumn> cols = List.copyOf(columns);
    Integer fail = failFirstAttempt;
    PairFlatMapFunction<Iterator<Row>, Text, BytesWritable> toFiles = toFiles(errors, nameIdx, errIdx, colIdx, cols,
        fail);
    JavaPairRDD<Text, BytesWritable> files = predicted.toJavaRDD().mapPartitionsToPair(toFiles);
    Job job = Job.getInstance(new Configuration(conf));
    job.setOutputKeyClass(Text.class);
    job.setOutputValueClass(BytesWritable.class);
    job.setOutputFormatClass(RelativeFilesOutputFormat.class);
    job.getConfiguration().set("mapreduce.fileoutputcommitter.algorithm.version", "1");
    job.getConfiguration().setBoolean("mapreduce.fileoutputcommitter.marksuccessfuljobs", false);
    FileOutputFormat.setOutputPath(job, new org.apache.hadoop.fs.Path(output));
    files.saveAsNewAPIHadoopDataset(job.getConfiguration());
    return errors.value().stream().sorted().toList();
  }

  /** Rows to (file, bytes) records: a row's binary map columns as predict's files; a failed row's error counted. */
  private static PairFlatMapFunction<Iterator<Row>, Text, BytesWritable> toFiles(CollectionAccumulator<String> errors,
      int nameIdx, int errIdx, int[] colIdx, List<OutputColumn> cols, Integer fail) {
    return all -> {
      Iterator<Row> rows = injectFailure(all, fail);
      List<Tuple2<Text, BytesWritable>> pending = new ArrayList<>();
      return new Iterator<>() {
        @Override
        public boolean hasNext() {
          while (pending.isEmpty() && rows.hasNext()) {
            Row r = rows.next();
            if (!r.isNullAt(errIdx)) {
              errors.add(r.getString(errIdx));
              continue;
            }
            String name = r.getString(nameIdx);
            for (int c = 0; c < cols.size(); c++) {
              if (r.isNullAt(colIdx[c])) continue;            // an optional format this image does not have
              pending.add(new Tuple2<>(new Text(cols.get(c).file(name)), new BytesWritable((byte[]) r.get(colIdx[c]))));
            }
          }
          return !pending.isEmpty();
        }

        @Override
        public Tuple2<Text, BytesWritable> next() {
          return pending.remove(0);
        }
      };
    };
  }

  /** predict's checks of options that only some families have. */
  private void checkFamilyOptions(MarigoldTransformer.Description d, CallSettings settings) {
    boolean diffusers = d.convention() == Convention.DIFFUSERS;
    if (!diffusers && !settings.marigoldResample()) {
      throw new IllegalArgumentException("--resample-method " + resampleMethod + " is not supported by this "
          + "checkpoint's family (use bilinear, bicubic or nearest)");
    }
    boolean lotusEnsemble = d.convention() == Convention.LOTUS_INFER_PY && ensembleSize > 1;
    if (!diffusers && ((outputUncertainty && !lotusEnsemble) || ensembleReduction != null)) {
      throw new IllegalArgumentException("--output-uncertainty and --ensemble-reduction are options of diffusers' "
          + "Marigold checkpoints");
    }
  }

  private static Map<String, String> hadoopConf(Configuration conf) {
    Map<String, String> m = new java.util.HashMap<>();
    for (Map.Entry<String, String> e : conf) m.put(e.getKey(), e.getValue());
    return m;
  }
}
