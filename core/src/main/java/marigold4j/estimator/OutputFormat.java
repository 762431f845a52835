package marigold4j.estimator;

import marigold4j.pipeline.Modality;

/**
 * One kind of output file of one map: where {@code predict} writes it, what {@code serve} calls it, and how it is
 * encoded. Registered in {@link OutputFormats}; adding a format is one class there.
 */
public interface OutputFormat {
  /** The map it encodes. */
  Modality map();

  /** The folder {@code predict} writes it to, named as the original scripts name it ({@code depth_npy}, ...). */
  String folder();

  /** What follows the input's base name in the file name ({@code _pred.npy}, {@code _pred_colored.png}, ...). */
  String suffix();

  /** The name clients ask for it by: {@code serve}'s {@code format=} and download links ({@code npy}, ...). */
  String kind();

  /** The HTTP content type. */
  String contentType();

  /** The file's bytes, or null when this prediction has none of it (e.g. no colormap was asked for). */
  byte[] encode(DensePrediction prediction);
}
