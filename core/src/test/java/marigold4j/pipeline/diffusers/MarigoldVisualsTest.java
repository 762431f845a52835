package marigold4j.pipeline.diffusers;

import static org.assertj.core.api.Assertions.assertThat;

import marigold4j.pipeline.diffusers.MarigoldVisuals.PredictionSpace;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The visualisers against diffusers 0.33.1's {@code MarigoldImageProcessor} on the goldens' predictions
 * ({@code testdata/diffusers_marigold/image_processor_visualize.*}). The fixture's tolerance: uint8 / uint16 outputs
 * exact except at float rounding boundaries, where they may differ by 1; at most 1 % of the values may sit on one.
 */
class MarigoldVisualsTest {
  static Golden g;
  static final int H = 40;
  static final int W = 56;

  @BeforeAll
  static void load() {
    g = Golden.load("diffusers_marigold", "image_processor_visualize");
  }

  /** Image {@code n} of an (N, H, W, C) input as (C, H, W) floats. */
  static float[] chw(String key, int n) {
    Tensor t = g.tensor(key);
    return Tensors.toFloats(t.select(0, n).permute(2, 0, 1).contiguous());
  }

  static int[] ints(Tensor t) {
    long[] v = Tensors.toLongs(t.to(org.bytedeco.pytorch.global.torch.ScalarType.Long));
    int[] out = new int[v.length];
    for (int i = 0; i < v.length; i++) out[i] = (int) v[i];
    return out;
  }

  static void assertBytes(byte[] actual, String key) {
    int[] expected = ints(g.tensor(key));
    int[] a = new int[actual.length];
    for (int i = 0; i < a.length; i++) a[i] = actual[i] & 0xff;
    assertWithinOne(a, expected, key);
  }

  static void assertWithinOne(int[] actual, int[] expected, String what) {
    assertThat(actual).as(what + " size").hasSameSizeAs(expected);
    int off = 0;
    int worst = 0;
    for (int i = 0; i < actual.length; i++) {
      int d = Math.abs(actual[i] - expected[i]);
      worst = Math.max(worst, d);
      if (d != 0) off++;
    }
    assertThat(worst).as(what + ": largest difference").isLessThanOrEqualTo(1);
    assertThat(off).as(what + ": values off by one").isLessThanOrEqualTo(actual.length / 100);
  }

  @Test
  void colormaps() {
    float[] ramp = Tensors.toFloats(g.tensor("colormap.input_ramp"));
    assertBytes(MarigoldVisuals.colormap(ramp, "Spectral"), "colormap.Spectral.custom.bytes");
    assertBytes(MarigoldVisuals.colormap(ramp, "Spectral_r"), "colormap.Spectral_r.custom.bytes");
    assertBytes(MarigoldVisuals.colormap(ramp, "binary"), "colormap.binary.matplotlib.bytes");
  }

  @Test
  void depth() {
    float[] d = chw("input.depth", 0);
    assertBytes(MarigoldVisuals.depth(d, 0, 1, "Spectral"), "visualize_depth.default.0");
    assertBytes(MarigoldVisuals.depth(d, 0.25, 0.75, "Spectral"), "visualize_depth.val_range.0");
    assertBytes(MarigoldVisuals.depth(d, 0, 1, "binary"), "visualize_depth.binary.0");
    assertBytes(MarigoldVisuals.depth(d, 0, 1, "Spectral"), "visualize_depth.list_torch.0");
    assertWithinOne(MarigoldVisuals.depth16(d, 0, 1), ints(g.tensor("export_depth_to_16bit_png.default.0")),
        "16-bit");
    // val_min / val_max push values outside [0, 1]: the original's uint16 cast wraps them, and so does this
    assertWithinOne(MarigoldVisuals.depth16(d, 0.25, 0.75), ints(g.tensor("export_depth_to_16bit_png.val_range.0")),
        "16-bit with a value range");
  }

  @Test
  void normals() {
    float[] n = chw("input.normals", 0);
    assertBytes(MarigoldVisuals.normals(n, H, W, false, false, false), "visualize_normals.flip_none.0");
    assertBytes(MarigoldVisuals.normals(n, H, W, true, false, false), "visualize_normals.flip_x.0");
    assertBytes(MarigoldVisuals.normals(n, H, W, false, true, false), "visualize_normals.flip_y.0");
    assertBytes(MarigoldVisuals.normals(n, H, W, false, false, true), "visualize_normals.flip_z.0");
    assertBytes(MarigoldVisuals.normals(n, H, W, true, true, true), "visualize_normals.flip_xyz.0");
  }

  @Test
  void intrinsicsAppearance() {
    float[] albedo = chw("input.appearance", 0);
    float[] material = chw("input.appearance", 1);
    assertBytes(MarigoldVisuals.intrinsicTarget(albedo, H, W, PredictionSpace.SRGB, false),
        "visualize_intrinsics.appearance.0.albedo");
    assertBytes(MarigoldVisuals.intrinsicTarget(material, H, W, PredictionSpace.STACK, false),
        "visualize_intrinsics.appearance.0.material");
    float[] roughness = java.util.Arrays.copyOfRange(material, 0, H * W);
    float[] metallicity = java.util.Arrays.copyOfRange(material, H * W, 2 * H * W);
    assertBytes(MarigoldVisuals.intrinsicSubTarget(roughness, PredictionSpace.LINEAR, false, "binary"),
        "visualize_intrinsics.appearance.0.roughness");
    assertBytes(MarigoldVisuals.intrinsicSubTarget(metallicity, PredictionSpace.LINEAR, false, "binary"),
        "visualize_intrinsics.appearance.0.metallicity");
    assertBytes(MarigoldVisuals.intrinsicSubTarget(roughness, PredictionSpace.LINEAR, false, "Spectral"),
        "visualize_intrinsics.appearance_cmapdict.0.roughness");
  }

  @Test
  void intrinsicsLighting() {
    assertBytes(MarigoldVisuals.intrinsicTarget(chw("input.lighting", 0), H, W, PredictionSpace.LINEAR, false),
        "visualize_intrinsics.lighting.0.albedo");
    assertBytes(MarigoldVisuals.intrinsicTarget(chw("input.lighting", 1), H, W, PredictionSpace.LINEAR, true),
        "visualize_intrinsics.lighting.0.shading");
    assertBytes(MarigoldVisuals.intrinsicTarget(chw("input.lighting", 2), H, W, PredictionSpace.LINEAR, true),
        "visualize_intrinsics.lighting.0.residual");
  }

  @Test
  void uncertainty() {
    assertBytes(MarigoldVisuals.uncertainty(chw("input.depth_uncertainty", 0), 1, H, W, 95),
        "visualize_uncertainty.depth.0");
    assertBytes(MarigoldVisuals.uncertainty(chw("input.depth_uncertainty", 0), 1, H, W, 50),
        "visualize_uncertainty.depth_p50.0");
    assertBytes(MarigoldVisuals.uncertainty(chw("input.normals_uncertainty", 0), 1, H, W, 95),
        "visualize_uncertainty.normals.0");
    assertBytes(MarigoldVisuals.uncertainty(chw("input.appearance_uncertainty", 0), 3, H, W, 95),
        "visualize_uncertainty.appearance.0");
    assertBytes(MarigoldVisuals.uncertainty(chw("input.appearance_uncertainty", 1), 3, H, W, 95),
        "visualize_uncertainty.appearance.1");
  }
}
