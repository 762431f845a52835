package marigold4j.eval.depth;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.pipeline.NoiseType;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;

/**
 * The inference arguments of the original's {@code Marigold/infer.py}, with its defaults; the per-dataset values of
 * {@code experiments/depth/eval_args/*} come from {@link #forPreset(DatasetPreset)}.
 *
 * @param processingRes longest side the model runs at, {@code 0} for the native resolution
 * @param outputProcessingRes return the map at the processing resolution instead of the input's
 * @param halfPrecision infer.py's {@code --half_precision} flag: the device's half type (bf16 on CPU, fp16 on CUDA)
 * @param resampleMethod {@code bilinear} or {@code nearest}, in the script's spelling: what it means depends on the
 *     family (PIL's filter for run.py's pipelines, torch's mode for diffusers'), so it is resolved when the
 *     checkpoint is known ({@code EvalPredictors})
 * @param noise initial latent noise (E2E-FT: zeros)
 * @param timestepSpacing DDIM timestep spacing (E2E-FT: trailing)
 * @param modelType the family name ({@code marigold}, {@code geowizard}, {@code marigold-diffusers}, {@code lotus})
 * @param domain GeoWizard's scene domain (recorded for every model, as infer.py does)
 */
public record InferenceSettings(
    long seed,
    int denoiseSteps,
    int ensembleSize,
    boolean halfPrecision,
    int processingRes,
    boolean outputProcessingRes,
    String resampleMethod,
    NoiseType noise,
    TimestepSpacing timestepSpacing,
    String modelType,
    Domain domain) {

  public InferenceSettings {
    Objects.requireNonNull(resampleMethod, "resampleMethod");
    Objects.requireNonNull(noise, "noise");
    Objects.requireNonNull(timestepSpacing, "timestepSpacing");
    Objects.requireNonNull(modelType, "modelType");
    Objects.requireNonNull(domain, "domain");
  }

  /** The seed of every original evaluation script. */
  public static final long EVAL_SEED = 1234;

  /** {@code infer.py}'s defaults with the scripts' seed and the preset's processing resolution. */
  public static InferenceSettings forPreset(DatasetPreset preset) {
    return defaults().withProcessingRes(preset.processingRes());
  }

  /** {@code infer.py}'s defaults with seed 1234 and native resolution. */
  public static InferenceSettings defaults() {
    return new InferenceSettings(EVAL_SEED, 1, 1, false, 0, false, "bilinear", NoiseType.ZEROS,
        TimestepSpacing.TRAILING, "marigold", Domain.INDOOR);
  }

  /** These settings with another step count, ensemble size and model type. */
  public InferenceSettings withInference(int steps, int ensemble, String type) {
    return new InferenceSettings(seed, steps, ensemble, halfPrecision, processingRes, outputProcessingRes,
        resampleMethod, noise, timestepSpacing, type, domain);
  }

  public InferenceSettings withProcessingRes(int res) {
    return new InferenceSettings(seed, denoiseSteps, ensembleSize, halfPrecision, res, outputProcessingRes,
        resampleMethod, noise, timestepSpacing, modelType, domain);
  }

  public InferenceSettings withSeed(long newSeed) {
    return new InferenceSettings(newSeed, denoiseSteps, ensembleSize, halfPrecision, processingRes,
        outputProcessingRes, resampleMethod, noise, timestepSpacing, modelType, domain);
  }

  /**
   * {@code arguments.txt} as {@code infer.py} writes it: {@code key: value} per argument in argparse order, Python's
   * {@code str()} of each value, no trailing newline.
   */
  public String argumentsText(String checkpoint, String datasetConfig, String baseDataDir, String outputDir) {
    Map<String, String> a = new LinkedHashMap<>();
    a.put("checkpoint", checkpoint);
    a.put("dataset_config", datasetConfig);
    a.put("base_data_dir", baseDataDir);
    a.put("output_dir", outputDir);
    a.put("denoise_steps", Integer.toString(denoiseSteps));
    a.put("ensemble_size", Integer.toString(ensembleSize));
    a.put("half_precision", halfPrecision ? "True" : "False");
    a.put("processing_res", Integer.toString(processingRes));
    a.put("output_processing_res", outputProcessingRes ? "True" : "False");
    a.put("resample_method", resampleMethod);
    a.put("noise", noise.id());
    a.put("timestep_spacing", timestepSpacing.jsonName());
    a.put("model_type", modelType);
    a.put("domain", domain.id());
    a.put("seed", Long.toString(seed));
    StringBuilder s = new StringBuilder();
    a.forEach((k, v) -> s.append(s.length() == 0 ? "" : "\n").append(k).append(": ").append(v));
    return s.toString();
  }
}
