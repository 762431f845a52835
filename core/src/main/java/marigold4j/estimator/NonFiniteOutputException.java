package marigold4j.estimator;

import marigold4j.pipeline.Modality;

/**
 * A prediction holds NaN or infinite values: the checkpoint's weights (or a setting) make the model diverge. Raised
 * instead of writing all-NaN files; the message names the map and says how to check the weights.
 */
public final class NonFiniteOutputException extends IllegalStateException {
  private final Modality map;

  public NonFiniteOutputException(Modality map, long count, long total) {
    super("the " + map.cliName() + " map has " + count + " of " + total + " values NaN or infinite: the checkpoint's "
        + "weights (or the settings) make the model diverge; `marigold4j inspect --check-finite CHECKPOINT` checks "
        + "the weights");
    this.map = map;
  }

  public Modality map() {
    return map;
  }
}
