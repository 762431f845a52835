package marigold4j.eval.normals;

/** Factory of {@link NormalsPredictor}s for checkpoints (the seam where the Marigold pipeline is wired in). */
public final class NormalsPredictors {
  private NormalsPredictors() {}

  /**
   * A predictor running the Marigold normals pipeline of {@code checkpoint} (a Hub id or a local diffusers folder)
   * with {@code settings} (denoising steps, ensemble size, processing resolution, resampling, noise, timestep
   * spacing, seed).
   */
  public static NormalsPredictor forCheckpoint(String checkpoint, DsineEvalSettings settings) {
    return marigold4j.pipeline.MarigoldPredictors.normals(settings);
  }
}
