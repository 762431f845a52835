package marigold4j.eval.normals;

/**
 * A surface-normal model as the DSINE benchmark calls it: one 8-bit RGB image in, one normal map of the same size
 * out ({@code match_input_res}), unit vectors in {@code [3, H, W]} layout expressed in {@link #frame()}.
 *
 * <p>The evaluation calls {@link #predict} under a {@code NoGradGuard} and inside a {@code PointerScope} per image,
 * so implementations need not manage either; they must not keep native tensors of one call alive for the next.
 */
public interface NormalsPredictor extends AutoCloseable {
  /** The frame of the predicted components ({@link NormalFrame#LUB} for the Marigold / E2E-FT normal models). */
  NormalFrame frame();

  /** Predicts the normals of {@code image}; the result has the image's height and width. */
  NormalMap predict(Rgb8Image image);

  @Override
  default void close() {}
}
