package marigold4j.eval.normals;

/** Factory of {@link NormalsPredictor}s for checkpoints (the seam where the Marigold pipeline is wired in). */
public final class NormalsPredictors {
  private NormalsPredictors() {}

  /**
   * A predictor running the Marigold normals pipeline of {@code checkpoint} (a Hub id or a local diffusers folder)
   * with {@code settings} (denoising steps, ensemble size, processing resolution, resampling, noise, timestep
   * spacing, seed).
   *
   * @throws UnsupportedOperationException until the Marigold pipeline is available in this project
   */
  public static NormalsPredictor forCheckpoint(String checkpoint, DsineEvalSettings settings) {
    // TODO(lead): construct the Marigold normals pipeline from `checkpoint` and return
    // image -> pipeline(image, settings...).normal_np as a NormalMap in NormalFrame.LUB.
    throw new UnsupportedOperationException("inference pipeline not available: the Marigold normals pipeline is not "
        + "part of this build yet; evaluate saved predictions with --predictions instead (checkpoint " + checkpoint
        + ")");
  }
}
