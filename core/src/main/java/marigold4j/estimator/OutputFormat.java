package marigold4j.estimator;

import java.io.IOException;
import java.io.OutputStream;
import marigold4j.pipeline.Modality;

/**
 * One kind of output file of a map: where {@code predict} writes it, what {@code serve} calls it, and how it is
 * encoded. Registered in {@link OutputFormats}; adding a format is one entry there.
 */
public interface OutputFormat {
  /** Whether it encodes {@code map} in a prediction of this convention. */
  boolean appliesTo(Modality map, DensePrediction.Convention convention);

  /** The folder {@code predict} writes it to for {@code map} ({@code depth_npy}, {@code albedo_colored}, ...). */
  String folder(Modality map);

  /** What follows the input's base name in the file name ({@code _pred.npy}, {@code _pred_colored.png}, ...). */
  String suffix();

  /** The name clients ask for it by: {@code serve}'s {@code format=} and download links ({@code npy}, ...). */
  String kind();

  /** The HTTP content type. */
  String contentType();

  /**
   * Whether only some predictions have it (an uncertainty needs an ensemble, latents must be asked for): its folder
   * is created when a file is written, not up front, and {@code --skip-existing} does not wait for it.
   */
  default boolean optional() {
    return false;
  }

  /** The file's bytes for {@code map}, or null when this prediction has none of it (e.g. no colormap was asked for). */
  byte[] encode(DensePrediction prediction, Modality map);

  /**
   * Whether {@link DensePrediction#save} streams the file with {@link #write} (point clouds and meshes, whose files
   * grow with the image) instead of holding {@link #encode}'s bytes.
   */
  default boolean streamed() {
    return false;
  }

  /** For a streamed format: whether this prediction has the file. */
  default boolean has(DensePrediction prediction, Modality map) {
    return encode(prediction, map) != null;
  }

  /** For a streamed format: writes the file to {@code out} (only called when {@link #has} says so). */
  default void write(DensePrediction prediction, Modality map, OutputStream out) throws IOException {
    out.write(encode(prediction, map));
  }
}
