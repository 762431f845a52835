package marigold4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import marigold4j.estimator.DensePrediction;
import marigold4j.estimator.Detection;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.estimator.Estimators;
import marigold4j.estimator.NonFiniteOutputException;
import marigold4j.estimator.OutputFormats;
import marigold4j.estimator.lotus.LotusFamily;
import marigold4j.estimator.tiles.TileGrid;
import marigold4j.estimator.tiles.TileSettings;
import marigold4j.estimator.tiles.Tiling;
import marigold4j.image.ImageInput;
import marigold4j.image.Resize.Interpolation;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.pipeline.LotusPipeline;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;
import marigold4j.pipeline.Precision;
import marigold4j.random.NoiseSource;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;
import org.bytedeco.javacpp.PointerScope;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code marigold4j predict}: Marigold/run.py in Java. Options keep run.py's meaning and defaults; its underscore
 * spellings are accepted too, so existing scripts keep working. GeoWizard's run_infer.py and Lotus' infer.py command
 * lines are accepted as well (their option names are aliases), and each family writes its original's files.
 */
@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Estimate depth or surface normals for images, writing the files Marigold's run.py (or, for "
        + "GeoWizard checkpoints, run_infer.py) writes:",
        "  depth:   depth_npy/<name>_pred.npy, depth_bw/<name>_pred.png (16-bit), depth_colored/<name>_pred_colored.png",
        "  normals: normal_npy/<name>_pred.npy (3xHxW), normal_colored/<name>_pred_colored.png",
        "  GeoWizard: both, with depth_npy, depth_colored, normal_npy (HxWx3), normal_colored",
        "  Lotus (infer.py's files): depth/<name>.npy (in [0, 1]) and depth_vis/<name>.png, or",
        "    normal/<name>.npy (HxWx3 in [0, 1]) and normal_vis/<name>.png; folders are searched as infer.py",
        "    does (recursively, *.png and *.jpg)",
        "Video files (.mp4, .mov, .mkv, .avi, .webm) and --frames folders are clips: per-frame files as for images",
        "  named <clip>_<frame:06d>, plus <map>_colored/<clip>_<map>_colored.mp4 (H.264 at the clip's frame rate)",
        "  <map>_npy/<clip>_<map>_stack.npy (float32 (T, H, W), or (T, H, W, 3) for normals) and <clip>_clip.json",
        "  (frames, fps, flicker, per-frame alignment); see --frames."})
public final class PredictCommand implements Callable<Integer> {
  static final String DEFAULT_CHECKPOINT = "GonzaloMG/marigold-e2e-ft-depth";

  @Spec CommandSpec spec;

  @Parameters(paramLabel = "INPUT", arity = "0..*",
      description = "Images (.jpg, .jpeg, .png) or folders of images (processed in sorted order), or video files "
          + "(.mp4, .mov, .mkv, .avi, .webm; decoded by FFmpeg, no ffmpeg program needed), each a clip.")
  List<Path> inputs = new ArrayList<>();

  @Option(names = {"--input-rgb-dir", "--input_rgb_dir", "--input_dir", "--input-dir"}, paramLabel = "DIR",
      description = "A folder of input images (run.py's / run_infer.py's / infer.py's spelling; same as giving the "
          + "folder as INPUT).")
  Path inputDir;

  // checked in call(): picocli's own message would name the longest alias (--output-dir), not --output
  @Option(names = {"-o", "--output", "--output-dir", "--output_dir"}, paramLabel = "DIR",
      description = "Output folder (created if needed). Required.")
  Path output;

  @Option(names = {"--checkpoint", "--pretrained_model_path", "--pretrained_model_name_or_path",
      "--pretrained-model-name-or-path"}, paramLabel = "ID_OR_DIR",
      description = "Checkpoint folder in the diffusers layout, or Hugging Face id. Default: " + DEFAULT_CHECKPOINT)
  String checkpoint = DEFAULT_CHECKPOINT;

  @Option(names = {"--modality", "--task_name", "--task-name"}, paramLabel = "depth|normals",
      description = "What the checkpoint predicts (single-map checkpoints; --task_name depth|normal is infer.py's "
          + "spelling). Default: its model_index.json's prediction_type, else normals when the checkpoint's name "
          + "contains 'normal', else depth.")
  String modality;

  @Option(names = "--mode", paramLabel = "generation|regression",
      description = "Lotus checkpoints only (infer.py's option): generation = Lotus-G, regression = Lotus-D. The "
          + "checkpoint's contents decide; a --mode that contradicts them is an error. Default: the checkpoint's.")
  String mode;

  @Option(names = "--timestep", paramLabel = "T",
      description = "Lotus checkpoints only: the one UNet timestep. Default: 999 (infer.py's).")
  Integer timestep;

  @Option(names = "--disparity", arity = "0..1", fallbackValue = "true", paramLabel = "true|false",
      description = "Lotus depth checkpoints only: the model predicts disparity, so the depth visualisation's "
          + "colours are reversed (the .npy is unchanged). Default: true when the checkpoint's name contains "
          + "'disparity' (the -disparity releases), else false.")
  Boolean disparity;

  @Option(names = {"--prediction_type", "--prediction-type"}, paramLabel = "sample",
      description = "Lotus checkpoints only (infer.py's option): what the UNet predicts. Only 'sample' (the x0 "
          + "latent, what every Lotus release predicts) is supported. Default: sample.")
  String predictionType;

  @Option(names = {"--denoise-steps", "--denoise_steps"}, paramLabel = "N",
      description = "DDIM denoising steps. Default: the checkpoint's default_denoising_steps, else 1 (E2E-FT).")
  Integer denoiseSteps;

  @Option(names = {"--ensemble-size", "--ensemble_size"}, paramLabel = "N", defaultValue = "1",
      description = "Predictions to ensemble per image (test-time ensembling). Default: ${DEFAULT-VALUE}.")
  int ensembleSize;

  @Option(names = {"--timestep-spacing", "--timestep_spacing"}, paramLabel = "trailing|leading",
      defaultValue = "trailing", description = "DDIM timestep spacing. Default: ${DEFAULT-VALUE}.")
  String timestepSpacing;

  @Option(names = "--noise", paramLabel = "zeros|gaussian|pyramid", defaultValue = "zeros",
      description = "Initial latent. Default: ${DEFAULT-VALUE} (E2E-FT).")
  String noise;

  @Option(names = {"--processing-res", "--processing_res"}, paramLabel = "PX",
      description = "Resize so the long edge is PX before inference (smaller images are upscaled); 0 = native "
          + "resolution. Default: the checkpoint's default_processing_resolution, else 768.")
  Integer processingRes;

  @Option(names = {"--output-processing-res", "--output_processing_res"},
      description = "Keep the output at the processing resolution instead of resizing it back to the input size.")
  boolean outputProcessingRes;

  @Option(names = "--seed", paramLabel = "N",
      description = "Random seed (as run.py: Python random and torch seeded once; diffusers checkpoints: "
          + "generator=torch.Generator(\"cpu\").manual_seed(N) for every image's call; for Lotus, as infer.py: its "
          + "generator and torch's, which draws the VAE sample). Default: the current time.")
  Long seed;

  @Option(names = {"--batch-size", "--batch_size"}, paramLabel = "N", defaultValue = "0",
      description = "Ensemble members per batch; 0 = automatic. Clips: N frames go to the model together "
          + "(diffusers' Marigold checkpoints predict them in one call, their N x ensemble items in chunks of N, as "
          + "diffusers batches a list of images; other families take them one after another); not with "
          + "--latent-blend, which chains each frame to the one before. Default: ${DEFAULT-VALUE}.")
  int batchSize;

  @Option(names = {"--resample-method", "--resample_method"}, paramLabel = "bilinear|bicubic|nearest",
      defaultValue = "bilinear", description = "Interpolation of both resizes (Marigold: nearest = nearest-exact; "
          + "diffusers checkpoints: torch's modes, also nearest-exact and area; Lotus: of the input resize only, its "
          + "output is resized back with nearest, as infer.py does). Default: ${DEFAULT-VALUE}.")
  String resampleMethod;

  @Option(names = {"--resample-method-input", "--resample_method_input"}, paramLabel = "MODE",
      description = "diffusers checkpoints: interpolation of the resize to the processing resolution (nearest, "
          + "nearest-exact, bilinear, bicubic, area). Default: --resample-method.")
  String resampleMethodInput;

  @Option(names = {"--resample-method-output", "--resample_method_output"}, paramLabel = "MODE",
      description = "diffusers checkpoints: interpolation of the resize back to the input size. "
          + "Default: --resample-method.")
  String resampleMethodOutput;

  @Option(names = {"--ensemble-reduction", "--ensemble_reduction"}, paramLabel = "median|mean|closest",
      description = "diffusers checkpoints: how ensemble members are combined (depth, intrinsics: median or mean; "
          + "normals: closest or mean). Default: median, normals closest.")
  String ensembleReduction;

  @Option(names = {"--ensemble-regularizer-strength", "--ensemble_regularizer_strength"}, paramLabel = "X",
      description = "diffusers depth checkpoints: strength of the pull of the aligned ensemble to [0, 1]. "
          + "Default: 0.02.")
  Double ensembleRegularizerStrength;

  @Option(names = {"--ensemble-max-iter", "--ensemble_max_iter"}, paramLabel = "N",
      description = "diffusers depth checkpoints: iterations of the ensemble alignment solver. Default: 2.")
  Integer ensembleMaxIter;

  @Option(names = {"--ensemble-tol", "--ensemble_tol"}, paramLabel = "X",
      description = "diffusers depth checkpoints: tolerance of the ensemble alignment solver. Default: 0.001.")
  Double ensembleTol;

  @Option(names = {"--ensemble-max-res", "--ensemble_max_res"}, paramLabel = "PX",
      description = "diffusers depth checkpoints: long edge at which the ensemble is aligned. Default: 1024.")
  Integer ensembleMaxRes;

  @Option(names = {"--output-uncertainty", "--output_uncertainty"},
      description = "diffusers checkpoints: also write the ensemble's uncertainty (<map>_uncertainty/ PNG and "
          + "<map>_uncertainty_npy/); needs --ensemble-size 2 or more.")
  boolean outputUncertainty;

  @Option(names = {"--output-latent", "--output_latent"},
      description = "diffusers checkpoints: also write the final prediction latents (latent/<name>_latent.npy).")
  boolean outputLatent;

  @Option(names = "--latents", paramLabel = "FILE.npy",
      description = "diffusers checkpoints: start from these prediction latents (float32 (E, 4T, h, w)) instead of "
          + "noise, as diffusers' latents= argument.")
  Path latentsFile;

  @Option(names = {"--color-map", "--color_map"}, paramLabel = "NAME",
      description = "Colour map of the depth visualisation (Spectral, Spectral_r, binary, binary_r) and, for "
          + "intrinsics checkpoints, of their scalar channels. Default: Spectral; intrinsic channels binary.")
  String colorMap;

  @Option(names = "--recursive", description = "Also take images from sub-folders of folder inputs.")
  boolean recursive;

  @Option(names = "--skip-existing",
      description = "Skip an image whose output files all exist already (continues a folder run that was stopped; "
          + "outputs are written atomically, so an existing file is complete).")
  boolean skipExisting;

  @Mixin HubOptions hub;

  @Mixin RuntimeOptions runtime;

  @Option(names = "--domain", paramLabel = "indoor|outdoor|object", defaultValue = "indoor",
      description = "GeoWizard checkpoints only: the scene domain the model is conditioned on. "
          + "Default: ${DEFAULT-VALUE}.")
  String domain;

  // geometry (issue 18): float maps, metric depth, camera, point clouds and meshes; nothing changes without them

  @Option(names = "--exr",
      description = "Also write every predicted map as float32 OpenEXR (<map>_exr/<name>_pred.exr: ZIP compression, "
          + "lossless; one-channel maps as channel Y, three-channel maps as R,G,B), and with --metric-depth the metric "
          + "depth as depth_metric/<name>_metric.exr.")
  boolean exr;

  @Option(names = "--metric-depth", paramLabel = "REF",
      description = "Align the depth to a metric reference of the input's size: a .npy of metres (0 or NaN = no "
          + "measurement) or a 16-bit PNG with --metric-depth-scale; for several inputs, a folder holding <name>.npy "
          + "or <name>.png per image. Writes depth_metric/<name>_metric.npy (float32 metres, 0 = invalid) and "
          + "depth_metric/<name>_metric.json (scale, shift, space, points, rmse_m, abs_rel, method, camera).")
  Path metricDepth;

  @Option(names = "--metric-depth-scale", paramLabel = "S",
      description = "For a 16-bit PNG reference: value / S = metres (KITTI uses 256, many depth sensors 1000).")
  Double metricDepthScale;

  @Option(names = "--metric-alignment", paramLabel = "depth|disparity", defaultValue = "depth",
      description = "Least squares over the valid reference pixels m, on the predicted depth d at the input size: "
          + "depth fits s*d + t = m; disparity fits s*d + t = 1/m, metric depth 1/(s*d + t) where positive. "
          + "Default: ${DEFAULT-VALUE}.")
  String metricAlignment;

  @Option(names = "--robust",
      description = "Robust metric alignment: iteratively reweighted least squares from the least-squares fit, "
          + "Huber weights (k = 1.345 sigma) then Tukey's biweight (c = 4.685 sigma, outliers get weight 0), "
          + "sigma = 1.4826 * median |residual|, at most 50 iterations per phase.")
  boolean robust;

  @Option(names = "--intrinsics", paramLabel = "FX,FY,CX,CY",
      description = "Camera intrinsics in pixels of the input image (OpenCV: x = (u - cx) z / fx). Default: --fov, "
          + "else the EXIF 35 mm-equivalent focal length of a JPEG, else a horizontal field of view of 60 degrees.")
  String intrinsics;

  @Option(names = "--fov", paramLabel = "DEGREES",
      description = "Horizontal field of view of the camera, principal point at the image centre.")
  Double fov;

  @Option(names = "--point-cloud",
      description = "Write point_cloud/<name>_points.ply: binary little-endian PLY, one vertex per valid pixel, "
          + "float x,y,z in metres (OpenCV camera frame: x right, y down, z forward), uchar red,green,blue of the "
          + "input, float nx,ny,nz with predicted normals (GeoWizard) or --normals-from-depth.")
  boolean pointCloud;

  @Option(names = "--normals-from-depth",
      description = "Point-cloud normals from the back-projected depth (cross product of the neighbour "
          + "differences, facing the camera) instead of predicted ones.")
  boolean normalsFromDepth;

  @Option(names = "--depth-range", paramLabel = "NEAR,FAR",
      description = "Without --metric-depth: the metres of predicted depth 0 and 1 for point clouds and meshes "
          + "(depth = NEAR + d (FAR - NEAR); the scale is arbitrary and the files say so). Default: 1,10.")
  String depthRange;

  @Option(names = "--mesh",
      description = "Write mesh/<name>_mesh.ply (PLY, vertex colours) and mesh/<name>_mesh.glb (glTF 2.0 binary, "
          + "y up): two triangles per 2x2 pixels, dropped across depth discontinuities (--mesh-max-depth-jump).")
  boolean mesh;

  @Option(names = "--mesh-max-depth-jump", paramLabel = "REL", defaultValue = "0.05",
      description = "Drop a mesh triangle whose corners' depths differ by more than REL times the nearest one "
          + "(max z - min z > REL min z). Default: ${DEFAULT-VALUE}.")
  double meshMaxDepthJump;

  // video (issue 19): clips from video files and --frames folders

  @Option(names = "--frames", paramLabel = "DIR",
      description = "A folder of images (.png, .jpg, .jpeg; sorted by name, all of one size) taken as one clip named "
          + "after the folder, at --fps frames per second.")
  Path frames;

  @Option(names = "--fps", paramLabel = "N", defaultValue = "30",
      description = "Frame rate of a --frames clip (its colourised video plays at it; a video file keeps its own). "
          + "Default: ${DEFAULT-VALUE}.")
  double fps;

  @Option(names = "--no-temporal-consistency",
      description = "Clips: predict and colour every frame on its own, as separate images. By default a clip gets "
          + "one normalisation: each frame's depth aligned (scale and shift over all pixels, see "
          + "--temporal-alignment) to the previous frame's aligned depth, the depth stack holding the aligned depth "
          + "and the depth video coloured over the aligned clip's range.")
  boolean noTemporalConsistency;

  @Option(names = "--temporal-alignment", paramLabel = "least-squares|symmetric", defaultValue = "symmetric",
      description = "Clips: how a frame's depth is fitted to the previous aligned frame (scale and shift over all "
          + "pixels, shift onto the previous frame's mean). symmetric: the geometric mean of the two least-squares "
          + "slopes, s = sign(cov) sqrt(var(prev) / var(frame)), keeping the clip's spread. least-squares: the scale "
          + "minimising the squared difference, s = cov / var(frame); it shrinks the scale by the frames' "
          + "correlation, which compounds along the clip and flattens a long or noisy one (or everything after a "
          + "scene cut). Default: ${DEFAULT-VALUE}.")
  String temporalAlignment;

  @Option(names = "--latent-blend", paramLabel = "B", defaultValue = "0",
      description = "Clips with diffusers' Marigold checkpoints (stochastic ones: Marigold v1-1, LCM): diffusers' "
          + "video recipe, one common initial latent for the clip, frame t starting from (1 - B) common + B "
          + "(frame t-1's final latent); diffusers' example uses 0.1. 0 = off. Default: ${DEFAULT-VALUE}.")
  double latentBlend;
  @Option(names = "--tiles",
      description = "High-resolution images: a global prediction at the processing resolution plus overlapping "
          + "tiles at the image's native resolution (each predicted at processing resolution = tile size), depth "
          + "tiles aligned to the global prediction by least-squares scale and shift, blended with smooth weights; "
          + "outputs at the input's size. An image not larger than the processing resolution is predicted as "
          + "without --tiles. Ensembles run per tile.")
  boolean tiles;

  @Option(names = "--tile-size", paramLabel = "PX",
      description = "With --tiles: the tile edge in input pixels (at least " + TileSettings.MIN_SIZE + "). "
          + "Default: the processing resolution.")
  Integer tileSize;

  @Option(names = "--tile-overlap", paramLabel = "PX",
      description = "With --tiles: the least overlap of neighbouring tiles in pixels, the width of the blending "
          + "ramp (smaller than the tile). Default: a quarter of the tile size.")
  Integer tileOverlap;

  /** Predicts one image and writes its files. */
  @FunctionalInterface
  private interface ImageJob {
    void run(Path image, String name);
  }

  @Override
  public Integer call() {
    PrintWriter err = spec.commandLine().getErr();
    List<Path> all = new ArrayList<>(inputs);
    if (inputDir != null) all.add(inputDir);
    if (all.isEmpty() && frames == null) {
      throw new IllegalArgumentException("no input: give image files or folders, videos or --frames (see --help)");
    }
    if (output == null) throw new IllegalArgumentException("missing required option --output DIR (or -o DIR)");
    runtime.validate();
    InputImages.requireExisting(all);                        // folders are listed once the family is known
    List<VideoClips.Clip> clips = clips(all);                // taken out of the image inputs
    marigold4j.video.ClipPredictor.Options clipOptions = new marigold4j.video.ClipPredictor.Options(
        !noTemporalConsistency, latentBlend, seed != null ? seed : 0,
        marigold4j.video.TemporalAlignment.Method.parse(temporalAlignment));
    // parse every option before the (slow) model load, so a typo fails at once
    TimestepSpacing spacing = TimestepSpacing.parse(timestepSpacing);
    NoiseType noiseType = NoiseType.parse(noise);
    Interpolation resample = Interpolation.fromMarigoldNameOrNull(resampleMethod);
    Interpolation resampleIn = Interpolation.fromTorchName(resampleMethodInput != null ? resampleMethodInput
        : resampleMethod);
    Interpolation resampleOut = Interpolation.fromTorchName(resampleMethodOutput != null ? resampleMethodOutput
        : resampleMethod);
    marigold4j.image.Npy.Array latents = readLatents(latentsFile);
    Domain geoDomain = Domain.parse(domain);
    Modality requested = modality == null ? null : Modality.parse(modality);
    EstimatorSettings settings = EstimatorSettings.builder().denoisingSteps(denoiseSteps).processingRes(processingRes)
        .ensembleSize(ensembleSize).matchInputRes(!outputProcessingRes).resample(resample).batchSize(batchSize)
        .colorMap(colorMap).noise(noiseType).timestepSpacing(spacing).domain(geoDomain)
        .resampleInput(resampleIn).resampleOutput(resampleOut).ensembleReduction(ensembleReduction)
        .ensembleRegularizerStrength(ensembleRegularizerStrength).ensembleMaxIter(ensembleMaxIter)
        .ensembleTol(ensembleTol).ensembleMaxRes(ensembleMaxRes).outputUncertainty(outputUncertainty)
        .outputLatent(outputLatent).latents(latents).timestep(timestep).disparity(disparity)
        .tiles(tileSettings()).build();
    LotusPipeline.Variant lotusMode = mode == null ? null : LotusPipeline.Variant.ofMode(mode);
    if (predictionType != null && !predictionType.equals("sample")) {
      throw new IllegalArgumentException("--prediction_type '" + predictionType + "': only 'sample' is supported "
          + "(Lotus' UNet predicts the x0 latent)");
    }

    marigold4j.geometry.GeometryRequest geometry = geometryRequest();
    Path dir = hub.resolve(checkpoint, runtime.variant, err);
    Detection detected = Estimators.detect(dir, checkpoint);
    if (lotusMode != null) checkLotusMode(detected, lotusMode);
    if (requested != null && detected.maps().size() == 1) detected = detected.only(requested, "--modality");
    boolean diffusers = detected.family().convention() == marigold4j.estimator.DensePrediction.Convention.DIFFUSERS;
    if (!diffusers && resample == null) {
      throw new IllegalArgumentException("--resample-method " + resampleMethod + " is not supported by "
          + detected.family().name() + " checkpoints (use bilinear, bicubic or nearest)");
    }
    boolean lotusEnsemble = detected.family().convention() == DensePrediction.Convention.LOTUS_INFER_PY
        && ensembleSize > 1;                       // Lotus ensembles always write their uncertainty
    if (!diffusers && ((outputUncertainty && !lotusEnsemble) || outputLatent || latentsFile != null
        || ensembleReduction != null)) {
      throw new IllegalArgumentException("--output-uncertainty, --output-latent, --latents and --ensemble-reduction "
          + "are options of diffusers' Marigold checkpoints, not of " + detected.family().name() + " ones"
          + " (a Lotus ensemble writes its uncertainty without the flag)");
    }
    DensePrediction.Convention convention = detected.family().convention();
    List<Path> images = all.isEmpty() ? List.of() : convention == DensePrediction.Convention.LOTUS_INFER_PY
        ? InputImages.expandLikeInferPy(all) : InputImages.expand(all, recursive, w -> err.println("warning: " + w));
    Precision precision = runtime.start();
    long s = seed != null ? seed : System.currentTimeMillis() / 1000;
    List<Modality> maps = detected.maps();
    String what = String.join("+", maps.stream().map(Modality::cliName).toList());
    String task = "Estimating " + String.join(" and ", maps.stream().map(Modality::cliName).toList());
    prepareOutput(OutputFormats.folders(maps, convention));
    if (skipExisting) {
      List<Path> todo = images.stream().filter(image -> !OutputFormats.files(maps, convention, output,
          InputImages.baseName(image)).stream().allMatch(Files::isRegularFile)).toList();
      if (todo.size() < images.size()) {
        err.printf("--skip-existing: %d of %d images already have their outputs%n", images.size() - todo.size(),
            images.size());
      }
      if (todo.isEmpty() && clips.isEmpty()) {
        spec.commandLine().getOut().printf("%s: nothing to do, every image has its outputs in %s%n", what, output);
        return 0;
      }
      images = todo;
    }
    err.printf("Loading %s (%s: %s%s, %s on %s)%n", checkpoint, detected.family().name(), what,
        detected.family().hasDomains() ? ", " + geoDomain.name().toLowerCase(Locale.ROOT) + " domain" : "",
        precision.label(), runtime.device);
    err.flush();
    try (Estimator estimator = Estimators.load(dir, detected, precision, runtime.device)) {
      NoiseSource noiseSource = estimator.seeded(s);
      if (latentBlend > 0 && !clips.isEmpty() && estimator.latentShape(64, 64, settings) == null) {
        throw new IllegalArgumentException("--latent-blend: " + detected.family().name() + " checkpoints take no "
            + "initial latents (diffusers' Marigold checkpoints do)");
      }
      if (settings.tiles() != null) checkTiles(estimator, settings);
      int code = images.isEmpty() ? 0 : runAll(images, task, what, (image, name) -> {
        marigold4j.image.PilImage pil = ImageInput.read(image);
        DensePrediction p;
        try (TileProgress tileProgress = new TileProgress(name)) {
          p = Tiling.predict(estimator, pil, settings, noiseSource, tileProgress);   // untiled without --tiles
        }
        if (geometry != null) p = p.withScene(scene(geometry, p, pil, image, name));
        p.save(output, name);
      });
      int clipsFailed = VideoClips.run(clips, estimator, settings, noiseSource, clipOptions, output,
          spec.commandLine().getOut(), err);
      return clipsFailed > 0 ? 1 : code;
    }
  }

  /** The video files among {@code all} (removed from it) and the --frames folder, as clips; options checked. */
  private List<VideoClips.Clip> clips(List<Path> all) {
    List<VideoClips.Clip> clips = new ArrayList<>();
    for (java.util.Iterator<Path> it = all.iterator(); it.hasNext(); ) {
      Path p = it.next();
      if (Files.isRegularFile(p) && marigold4j.video.VideoFiles.isVideo(p)) {
        clips.add(new VideoClips.Clip(p, false, 0));
        it.remove();
      }
    }
    if (frames != null) {
      if (!Files.isDirectory(frames)) throw new IllegalArgumentException("--frames " + frames + ": not a folder");
      if (!(fps > 0) || Double.isInfinite(fps)) throw new IllegalArgumentException("--fps must be positive, got " + fps);
      clips.add(new VideoClips.Clip(frames, true, fps));
    }
    if (clips.isEmpty()) return clips;
    if (exr || pointCloud || mesh || metricDepth != null || tiles) {
      throw new IllegalArgumentException("--exr, --point-cloud, --mesh, --metric-depth and --tiles are for images, "
          + "not for video clips");
    }
    if (latentBlend > 0 && latentsFile != null) {
      throw new IllegalArgumentException("--latent-blend and --latents exclude each other (the blend makes each "
          + "frame's initial latents)");
    }
    return clips;
  }

  /** --tiles and its options, checked before any load; null without --tiles. */
  private TileSettings tileSettings() {
    if (!tiles) {
      if (tileSize != null || tileOverlap != null) {
        throw new IllegalArgumentException((tileSize != null ? "--tile-size" : "--tile-overlap") + " needs --tiles");
      }
      return null;
    }
    TileSettings t = new TileSettings(tileSize, tileOverlap);
    if (outputProcessingRes || outputLatent || latentsFile != null) {
      throw new IllegalArgumentException("--tiles writes maps at the input's size from the whole image's tiles: it "
          + "cannot be combined with --output-processing-res, --output-latent or --latents");
    }
    if (processingRes != null) {
      if (processingRes == 0) {
        throw new IllegalArgumentException("--tiles needs a processing resolution: --processing-res 0 already "
            + "predicts at the native resolution");
      }
      t.overlapFor(t.sizeFor(processingRes));
      if (t.sizeFor(processingRes) < TileSettings.MIN_SIZE) {
        throw new IllegalArgumentException("--tiles: the tile size defaults to --processing-res " + processingRes
            + ", below " + TileSettings.MIN_SIZE + " px: give --tile-size");
      }
    }
    return t;
  }

  /** The tile options against the model's default processing resolution, once it is known (before any image). */
  private static void checkTiles(Estimator estimator, EstimatorSettings settings) {
    Integer res = settings.processingRes() != null ? settings.processingRes() : estimator.defaults().processingRes();
    if (res == null || res <= 0) return;
    TileSettings t = settings.tiles();
    if (t.sizeFor(res) < TileSettings.MIN_SIZE) {
      throw new IllegalArgumentException("--tiles: the tile size defaults to the processing resolution " + res
          + ", below " + TileSettings.MIN_SIZE + " px: give --tile-size");
    }
    t.overlapFor(t.sizeFor(res));
  }

  /** Tile progress of one image: a line naming the grid, then a bar (or plain lines) over its tiles. */
  private final class TileProgress implements Tiling.Listener, AutoCloseable {
    private final String name;
    private Progress progress;

    TileProgress(String name) {
      this.name = InputImages.printable(name);
    }

    @Override
    public void start(TileGrid grid) {
      PrintWriter err = spec.commandLine().getErr();
      err.printf(Locale.ROOT, "%s: %dx%d in %d tiles of %d px (%d x %d, overlap at least %d px) and a global "
          + "prediction%n", name, grid.width(), grid.height(), grid.count(), grid.tileSize(), grid.columns(),
          grid.rows(), grid.overlap());
      err.flush();
      progress = Progress.start(name + " tiles", grid.count(), " tiles", err);
    }

    @Override
    public void tileDone() {
      progress.step("");
    }

    @Override
    public void close() {
      if (progress != null) progress.close();
    }
  }

  /** The geometry options as a request, or null when none of --exr, --point-cloud, --mesh, --metric-depth is given. */
  private marigold4j.geometry.GeometryRequest geometryRequest() {
    marigold4j.geometry.MetricAlignment.Space space = marigold4j.geometry.MetricAlignment.Space.parse(metricAlignment);
    marigold4j.geometry.Camera.Spec camera = new marigold4j.geometry.Camera.Spec(
        intrinsics == null ? null : marigold4j.geometry.Camera.Spec.parseIntrinsics(intrinsics), fov);
    double[] range = depthRange == null ? new double[] {marigold4j.geometry.GeometryRequest.DEFAULT_NEAR,
        marigold4j.geometry.GeometryRequest.DEFAULT_FAR} : marigold4j.geometry.GeometryRequest.parseRange(depthRange);
    if (metricDepth != null && !Files.exists(metricDepth)) {
      throw new IllegalArgumentException("--metric-depth " + metricDepth + ": file not found");
    }
    if (!exr && !pointCloud && !mesh && metricDepth == null) return null;
    return new marigold4j.geometry.GeometryRequest(exr, pointCloud, mesh, normalsFromDepth, space, robust, camera,
        range[0], range[1], meshMaxDepthJump);
  }

  /** The geometry of one image: its metric reference and EXIF read, the choices made printed. */
  private marigold4j.geometry.Scene scene(marigold4j.geometry.GeometryRequest geometry, DensePrediction p,
      marigold4j.image.PilImage pil, Path image, String name) {
    marigold4j.geometry.MetricReference ref = metricDepth == null ? null : marigold4j.geometry.MetricReference.read(
        marigold4j.geometry.MetricReference.locate(metricDepth, name), metricDepthScale);
    java.util.OptionalDouble exif = java.util.OptionalDouble.empty();
    if (geometry.needs3d(ref != null) && intrinsics == null && fov == null) {
      try {
        exif = marigold4j.geometry.Exif.focalLength35mm(Files.readAllBytes(image));
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(image + ": " + e.getMessage(), e);
      }
    }
    marigold4j.geometry.Scene scene = marigold4j.geometry.Scene.of(geometry,
        p.names().contains(Modality.DEPTH) ? p.map(Modality.DEPTH) : null,
        p.names().contains(Modality.NORMALS) ? p.map(Modality.NORMALS) : null, pil, exif, ref);
    PrintWriter err = spec.commandLine().getErr();
    if (scene.camera() != null) {
      err.println(InputImages.printable(name) + ": camera " + scene.camera().describe());
      err.println(InputImages.printable(name) + ": depth in " + scene.units());
    }
    return scene;
  }

  private static marigold4j.image.Npy.Array readLatents(Path file) {
    if (file == null) return null;
    marigold4j.image.Npy.Array a;
    try {
      a = marigold4j.image.Npy.read(file);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("--latents " + file + ": " + e.getMessage());
    }
    if (a.dtype() != marigold4j.image.Npy.DType.F4 || a.shape().length != 4) {
      throw new IllegalArgumentException("--latents " + file + ": expected a float32 array of 4 dimensions "
          + "(ensemble, 4 x targets, h, w), got " + a.dtype() + " " + java.util.Arrays.toString(a.shape()));
    }
    return a;
  }

  /** infer.py's {@code --mode} against the checkpoint's contents: a contradiction is an error, not a reload. */
  private void checkLotusMode(Detection detected, LotusPipeline.Variant asked) {
    if (!(detected.family() instanceof LotusFamily lotus)) {
      throw new IllegalArgumentException("--mode " + mode + " is Lotus' option, but " + checkpoint + " is a "
          + detected.family().name() + " checkpoint (" + detected.evidence() + ")");
    }
    lotus.variant().filter(v -> v != asked).ifPresent(v -> {
      throw new IllegalArgumentException("--mode " + mode + " asks for Lotus-" + asked + " (" + asked.className()
          + "), but " + checkpoint + " is Lotus-" + v + " (" + detected.evidence() + ")");
    });
  }

  /** The per-image loop: one scope per image, a bad image reported and skipped, a summary at the end. */
  private int runAll(List<Path> images, String task, String what, ImageJob job) {
    PrintWriter err = spec.commandLine().getErr();
    int failed = 0;
    Set<String> seen = new HashSet<>();
    try (Progress progress = Progress.start(task, images.size(), err)) {
      for (Path image : images) {
        String name = InputImages.baseName(image);
        if (!seen.add(name)) {
          err.printf("warning: %s: another input has the same name; its outputs are overwritten%n",
              InputImages.printable(image.toString()));
        }
        try (PointerScope scope = new PointerScope()) {
          job.run(image, name);
        } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
          failed++;
          err.println("error: " + e.getMessage());
        } catch (NonFiniteOutputException e) {
          failed++;
          err.println("error: " + InputImages.printable(image.toString()) + ": " + e.getMessage());
        }
        progress.step(InputImages.printable(image.getFileName().toString()));
      }
      double secs = progress.elapsed().toMillis() / 1000.0;
      spec.commandLine().getOut().printf(Locale.ROOT, "%s: %d of %d images in %.1f s (%.2f s/image)%s -> %s%n",
          what, images.size() - failed, images.size(), secs, secs / images.size(),
          failed > 0 ? ", " + failed + " failed" : "", output);
    }
    return failed > 0 ? 1 : 0;
  }

  private void prepareOutput(List<String> dirs) {
    try {
      for (String d : dirs) Files.createDirectories(output.resolve(d));
    } catch (IOException e) {
      throw new IllegalArgumentException(output + ": cannot create the output folder (" + e + ")");
    }
    for (String d : dirs) {
      if (!Files.isWritable(output.resolve(d))) {
        throw new IllegalArgumentException(output.resolve(d) + ": output folder is not writable");
      }
    }
  }
}
