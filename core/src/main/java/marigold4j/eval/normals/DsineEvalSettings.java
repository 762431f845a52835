package marigold4j.eval.normals;

import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.pipeline.NoiseType;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;

/**
 * The settings of one DSINE evaluation run, as {@code experiments/normals/eval_args/*.txt} gives them, and their
 * record in {@code log/params.txt}.
 *
 * @param checkpoint {@code --ckpt_path}: Hub id or folder of the model (for saved predictions: the model that made them)
 * @param denoiseSteps DDIM steps (E2E default 1)
 * @param ensembleSize ensemble members (E2E default 1)
 * @param processingRes processing resolution, 0 = the input resolution (the benchmark setting)
 * @param resampleMethod {@code bilinear}, {@code bicubic} or {@code nearest}, in the script's spelling (its meaning
 *     depends on the family; resolved when the checkpoint is known)
 * @param noise initial latent noise (E2E default: zeros)
 * @param timestepSpacing DDIM timestep spacing (E2E default: trailing)
 * @param modelType {@code marigold} or {@code geowizard}
 * @param evalData the dataset selection as given ({@code all} or a list)
 * @param domain GeoWizard domain, or {@code null} (printed {@code None})
 * @param seed the seed, or {@code null}
 * @param expName experiment name
 * @param expId experiment id
 */
public record DsineEvalSettings(String checkpoint, int denoiseSteps, int ensembleSize, int processingRes,
    String resampleMethod, NoiseType noise, TimestepSpacing timestepSpacing, String modelType, String evalData,
    Domain domain,
    Integer seed, String expName, String expId) {

  /** {@code experiments/normals/eval_args/marigold_e2e_ft.txt} on top of the parser's defaults. */
  public static DsineEvalSettings marigoldE2eFt() {
    return new DsineEvalSettings("GonzaloMG/marigold-e2e-ft-normals", 1, 1, 0, "bilinear", NoiseType.ZEROS,
        TimestepSpacing.TRAILING, "marigold", "all", null, 1234, "Marigold", "Marigold-E2E-FT");
  }

  /**
   * The text of {@code log/params.txt} ({@code utils.save_e2e_args}: {@code "<name>: <value>"} lines, Python's
   * {@code str} of each value).
   */
  public String paramsText() {
    return "ckpt_path: " + py(checkpoint) + "\n"
        + "denoise_steps: " + denoiseSteps + "\n"
        + "ensemble_size: " + ensembleSize + "\n"
        + "processing_res: " + processingRes + "\n"
        + "resample_method: " + py(resampleMethod) + "\n"
        + "noise: " + py(noise == null ? null : noise.id()) + "\n"
        + "timestep_spacing: " + py(timestepSpacing == null ? null : timestepSpacing.jsonName()) + "\n"
        + "model_type: " + py(modelType) + "\n"
        + "eval_data: " + py(evalData) + "\n"
        + "domain: " + py(domain == null ? null : domain.id()) + "\n"
        + "seed: " + py(seed) + "\n"
        + "exp_name: " + py(expName) + "\n"
        + "exp_id: " + py(expId) + "\n";
  }

  private static String py(Object v) {
    return v == null ? "None" : v.toString();
  }
}
