package marigold4j.estimator;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.BiPredicate;
import java.util.function.Function;
import marigold4j.estimator.DensePrediction.Convention;
import marigold4j.image.Npy;
import marigold4j.image.Png16;
import marigold4j.image.RgbPng;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Prediction;
import marigold4j.pipeline.RunPyFiles;
import marigold4j.pipeline.diffusers.MarigoldVisuals;

/**
 * The registry of output formats: the files run.py (and GeoWizard's run_infer.py) write, those of the diffusers
 * Marigold family (per intrinsic target, uncertainty, latents), and what {@code serve} offers. Add a format by adding
 * one {@link OutputFormat} to {@link #FORMATS}.
 */
public final class OutputFormats {
  private OutputFormats() {}

  /** A format given by its parts. */
  private record Format(String kind, String suffix, String contentType, boolean optional,
      BiPredicate<Modality, Convention> applies, Function<Modality, String> folderOf,
      BiFunction<DensePrediction, Modality, byte[]> encoder) implements OutputFormat {
    @Override
    public boolean appliesTo(Modality map, Convention convention) {
      return applies.test(map, convention);
    }

    @Override
    public String folder(Modality map) {
      return folderOf.apply(map);
    }

    @Override
    public byte[] encode(DensePrediction prediction, Modality map) {
      return encoder.apply(prediction, map);
    }
  }

  private static final String NPY = "application/octet-stream";
  private static final String PNG = "image/png";
  private static final String EXR = "image/x-exr";
  private static final String JSON = "application/json";
  private static final String PLY = "application/x-ply";
  private static final String GLB = "model/gltf-binary";

  /**
   * A depth map's 3D file (point cloud, mesh), streamed to disk: present when the prediction carries a
   * {@link marigold4j.geometry.Scene} whose request asks for it.
   */
  private record Streamed(String kind, String suffix, String contentType, Function<Modality, String> folderOf,
      java.util.function.Predicate<marigold4j.geometry.Scene> asked, SceneWriter writer) implements OutputFormat {
    /** Writes one file of a scene. */
    interface SceneWriter {
      void write(marigold4j.geometry.Scene scene, java.io.OutputStream out) throws java.io.IOException;
    }

    @Override
    public boolean appliesTo(Modality map, Convention convention) {
      return map == Modality.DEPTH;
    }

    @Override
    public String folder(Modality map) {
      return folderOf.apply(map);
    }

    @Override
    public boolean optional() {
      return true;
    }

    @Override
    public boolean streamed() {
      return true;
    }

    @Override
    public boolean has(DensePrediction p, Modality map) {
      return p.scene() != null && p.scene().grid() != null && asked.test(p.scene());
    }

    @Override
    public void write(DensePrediction p, Modality map, java.io.OutputStream out) throws java.io.IOException {
      writer.write(p.scene(), out);
    }

    /** In memory, for the server's downloads. */
    @Override
    public byte[] encode(DensePrediction p, Modality map) {
      if (!has(p, map)) return null;
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      try {
        writer.write(p.scene(), out);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      return out.toByteArray();
    }
  }

  private static final List<OutputFormat> FORMATS = List.of(
      new Format("npy", RunPyFiles.NPY_SUFFIX, NPY, false, (m, c) -> true, RunPyFiles::npyFolder,
          (p, m) -> npy(p.map(m), p.convention())),
      new Format("png16", RunPyFiles.PNG16_SUFFIX, PNG, false, (m, c) -> m == Modality.DEPTH,
          m -> RunPyFiles.PNG16_FOLDER, (p, m) -> {
        Prediction d = p.map(m);
        return Png16.encodeValues(d.depth16(), d.width(), d.height());
      }),
      new Format("colored", RunPyFiles.COLORED_SUFFIX, PNG, false, (m, c) -> true, RunPyFiles::coloredFolder,
          (p, m) -> colored(p.map(m))),
      new Format("uncertainty", "_uncertainty.png", PNG, true, (m, c) -> c.writesUncertainty(),
          m -> m.folderPrefix() + "_uncertainty", (p, m) -> uncertaintyPng(p.map(m))),
      new Format("uncertainty_npy", "_uncertainty.npy", NPY, true, (m, c) -> c.writesUncertainty(),
          m -> m.folderPrefix() + "_uncertainty_npy", (p, m) -> uncertaintyNpy(p.map(m), p.convention())),
      new Format("latent", "_latent.npy", NPY, true, (m, c) -> c.writesUncertainty(), m -> "latent",
          (p, m) -> p.latent() == null || m != p.names().get(0) ? null : Npy.toBytes(p.latent())),
      // geometry (issue 18): written only when the prediction carries a Scene whose request asks for them
      new Format("exr", "_pred.exr", EXR, true, (m, c) -> true, m -> m.folderPrefix() + "_exr",
          OutputFormats::exr),
      new Format("metric_npy", "_metric.npy", NPY, true, (m, c) -> m == Modality.DEPTH, m -> "depth_metric",
          (p, m) -> p.scene() == null || !p.scene().metric() ? null : Npy.toBytes(Npy.Array.ofFloats(
              p.scene().metricDepth(), p.scene().grid().height(), p.scene().grid().width()))),
      new Format("metric_json", "_metric.json", JSON, true, (m, c) -> m == Modality.DEPTH, m -> "depth_metric",
          (p, m) -> p.scene() == null ? null : p.scene().metricJson()),
      new Format("metric_exr", "_metric.exr", EXR, true, (m, c) -> m == Modality.DEPTH, m -> "depth_metric",
          OutputFormats::metricExr),
      new Streamed("ply", "_points.ply", PLY, m -> "point_cloud", s -> s.request().pointCloud(),
          marigold4j.geometry.Scene::writePointCloud),
      new Streamed("mesh_ply", "_mesh.ply", PLY, m -> "mesh", s -> s.request().mesh(),
          marigold4j.geometry.Scene::writeMeshPly),
      new Streamed("glb", "_mesh.glb", GLB, m -> "mesh", s -> s.request().mesh(), marigold4j.geometry.Scene::writeGlb));

  /** Every registered format, in the order each map's files are written. */
  public static List<OutputFormat> all() {
    return FORMATS;
  }

  /** The formats of one map, in any convention. */
  public static List<OutputFormat> of(Modality map) {
    List<OutputFormat> out = new ArrayList<>();
    for (OutputFormat f : FORMATS) {
      for (Convention c : Convention.values()) {
        if (f.appliesTo(map, c) && !out.contains(f)) out.add(f);
      }
    }
    return out;
  }

  /** The format of {@code map} that clients call {@code kind}, if any. */
  public static Optional<OutputFormat> find(Modality map, String kind) {
    return of(map).stream().filter(f -> f.kind().equals(kind)).findFirst();
  }

  /** Every format name clients can ask for, in registration order ({@code npy}, {@code png16}, {@code colored}, ...). */
  public static Set<String> kinds() {
    Set<String> out = new LinkedHashSet<>();
    FORMATS.forEach(f -> out.add(f.kind()));
    return out;
  }

  /** The folders {@link DensePrediction#save} always writes for an estimator producing {@code maps}. */
  public static List<String> folders(List<Modality> maps, Convention convention) {
    List<String> out = new ArrayList<>();
    for (Modality m : maps) {
      for (OutputFormat f : FORMATS) {
        String folder = convention.folder(f, m);
        if (!f.optional() && writes(f, m, convention) && !out.contains(folder)) out.add(folder);
      }
    }
    return out;
  }

  /** The files {@link DensePrediction#save} always writes for the input named {@code name}. */
  public static List<Path> files(List<Modality> maps, Convention convention, Path outputDir, String name) {
    List<Path> out = new ArrayList<>();
    for (Modality m : maps) {
      for (OutputFormat f : FORMATS) {
        if (!f.optional() && writes(f, m, convention)) {
          out.add(outputDir.resolve(convention.folder(f, m)).resolve(name + convention.suffix(f, m)));
        }
      }
    }
    return out;
  }

  /** Whether {@code predict} writes {@code f} of {@code map} under {@code convention}. */
  static boolean writes(OutputFormat f, Modality map, Convention convention) {
    return f.appliesTo(map, convention) && convention.writes(f.folder(map));
  }

  private static byte[] npy(Prediction p, Convention convention) {
    if (p.channels() == 3 && convention.normalsHwc()) {
      float[] hwc = p.valuesHwc();
      if (p.modality() == Modality.NORMALS && convention.normalsUnitRange()) {
        for (int i = 0; i < hwc.length; i++) hwc[i] = (hwc[i] + 1f) / 2f;
      }
      return Npy.toBytes(Npy.Array.ofFloats(hwc, p.height(), p.width(), 3));
    }
    return Npy.toBytes(Npy.Array.ofFloats(p.values(), p.shape()));
  }

  /** float32 OpenEXR of a map (depth channel Y, three-channel maps R, G, B), when the scene asks for it. */
  private static byte[] exr(DensePrediction p, Modality m) {
    if (p.scene() == null || !p.scene().request().exr()) return null;
    Prediction d = p.map(m);
    String comment = p.scene().exrComment(m.cliName() + " prediction (values as the .npy)");
    return d.channels() == 3 ? marigold4j.geometry.ExrWriter.encodeRgb(d.width(), d.height(), d.values(), comment)
        : marigold4j.geometry.ExrWriter.encodeGrey(d.width(), d.height(), d.values(), comment);
  }

  private static byte[] metricExr(DensePrediction p, Modality m) {
    if (p.scene() == null || !p.scene().request().exr() || !p.scene().metric()) return null;
    marigold4j.geometry.DepthGrid g = p.scene().grid();
    return marigold4j.geometry.ExrWriter.encodeGrey(g.width(), g.height(), g.depth(),
        p.scene().exrComment("metric depth (metres, 0 = invalid)"));
  }

  private static byte[] colored(Prediction p) {
    byte[] rgb = p.coloredRgb();
    return rgb == null ? null : RgbPng.encodeHwc(rgb, p.width(), p.height());
  }

  private static byte[] uncertaintyPng(Prediction p) {
    float[] u = p.uncertainty();
    if (u == null) return null;
    int[] s = p.uncertaintyShape();
    int c = s.length == 3 ? s[0] : 1;
    int h = s[s.length - 2];
    int w = s[s.length - 1];
    // a bicubic output resize undershoots below 0, which diffusers' visualize_uncertainty refuses: the picture
    // shows those pixels as certain (0); the .npy keeps the values
    for (int i = 0; i < u.length; i++) if (u[i] < 0) u[i] = 0;
    byte[] v = MarigoldVisuals.uncertainty(u, c, h, w, 95);
    if (c == 3) return RgbPng.encodeHwc(v, w, h);
    byte[] rgb = new byte[3 * h * w];
    for (int i = 0; i < h * w; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = v[i];
    return RgbPng.encodeHwc(rgb, w, h);
  }

  private static byte[] uncertaintyNpy(Prediction p, Convention convention) {
    float[] u = p.uncertainty();
    if (u == null) return null;
    int[] s = p.uncertaintyShape();
    if (s.length == 3 && s[0] == 3 && convention.normalsHwc()) {
      return Npy.toBytes(Npy.Array.ofFloats(Prediction.chwToHwc(u, 3), s[1], s[2], 3));
    }
    long[] shape = new long[s.length];
    for (int i = 0; i < s.length; i++) shape[i] = s[i];
    return Npy.toBytes(Npy.Array.ofFloats(u, shape));
  }
}
