package marigold4j.estimator;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import marigold4j.image.Npy;
import marigold4j.image.Png16;
import marigold4j.image.RgbPng;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Prediction;

/**
 * The registry of output formats: the files run.py (and GeoWizard's run_infer.py) write, and what {@code serve} offers.
 * Add a format by adding one {@link OutputFormat} to {@link #FORMATS}.
 */
public final class OutputFormats {
  private OutputFormats() {}

  /** A format whose bytes come from one map of the prediction. */
  private record MapFormat(Modality map, String folder, String suffix, String kind, String contentType,
      Function<DensePrediction, byte[]> encoder) implements OutputFormat {
    @Override
    public byte[] encode(DensePrediction prediction) {
      return encoder.apply(prediction);
    }
  }

  private static final String NPY = "application/octet-stream";
  private static final String PNG = "image/png";

  private static final List<OutputFormat> FORMATS = List.of(
      new MapFormat(Modality.DEPTH, "depth_npy", "_pred.npy", "npy", NPY,
          p -> npy(p.map(Modality.DEPTH))),
      new MapFormat(Modality.DEPTH, "depth_bw", "_pred.png", "png16", PNG, p -> {
        Prediction d = p.map(Modality.DEPTH);
        return Png16.encodeValues(d.depth16(), d.width(), d.height());
      }),
      new MapFormat(Modality.DEPTH, "depth_colored", "_pred_colored.png", "colored", PNG,
          p -> colored(p.map(Modality.DEPTH))),
      new MapFormat(Modality.NORMALS, "normal_npy", "_pred.npy", "npy", NPY, p -> {
        Prediction n = p.map(Modality.NORMALS);
        if (!p.convention().normalsHwc()) return npy(n);
        float[] hwc = n.valuesHwc();
        if (p.convention().normalsUnitRange()) {
          for (int i = 0; i < hwc.length; i++) hwc[i] = (hwc[i] + 1f) / 2f;
        }
        return Npy.toBytes(Npy.Array.ofFloats(hwc, n.height(), n.width(), 3));
      }),
      new MapFormat(Modality.NORMALS, "normal_colored", "_pred_colored.png", "colored", PNG,
          p -> colored(p.map(Modality.NORMALS))));

  /** Every registered format, in the order files are written. */
  public static List<OutputFormat> all() {
    return FORMATS;
  }

  /** The formats of one map. */
  public static List<OutputFormat> of(Modality map) {
    List<OutputFormat> out = new ArrayList<>();
    for (OutputFormat f : FORMATS) if (f.map() == map) out.add(f);
    return out;
  }

  /** The format of {@code map} that clients call {@code kind}, if any. */
  public static Optional<OutputFormat> find(Modality map, String kind) {
    return of(map).stream().filter(f -> f.kind().equals(kind)).findFirst();
  }

  /** Every format name clients can ask for, in registration order ({@code npy}, {@code png16}, {@code colored}). */
  public static Set<String> kinds() {
    Set<String> out = new LinkedHashSet<>();
    FORMATS.forEach(f -> out.add(f.kind()));
    return out;
  }

  /** The folders {@link DensePrediction#save} writes for an estimator producing {@code maps}. */
  public static List<String> folders(List<Modality> maps, DensePrediction.Convention convention) {
    List<String> out = new ArrayList<>();
    for (OutputFormat f : FORMATS) {
      if (maps.contains(f.map()) && convention.writes(f.folder())) out.add(convention.folder(f));
    }
    return out;
  }

  /** The files {@link DensePrediction#save} writes for the input named {@code name}. */
  public static List<java.nio.file.Path> files(List<Modality> maps, DensePrediction.Convention convention,
      java.nio.file.Path outputDir, String name) {
    List<java.nio.file.Path> out = new ArrayList<>();
    for (OutputFormat f : FORMATS) {
      if (maps.contains(f.map()) && convention.writes(f.folder())) {
        out.add(outputDir.resolve(convention.folder(f)).resolve(name + convention.suffix(f)));
      }
    }
    return out;
  }

  private static byte[] npy(Prediction p) {
    return Npy.toBytes(Npy.Array.ofFloats(p.values(), p.shape()));
  }

  private static byte[] colored(Prediction p) {
    byte[] rgb = p.coloredRgb();
    return rgb == null ? null : RgbPng.encodeHwc(rgb, p.width(), p.height());
  }
}
