package marigold4j.models.geowizard;

import java.util.Locale;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The conditioning GeoWizard's {@code DepthNormalEstimationPipeline.single_infer} gives its UNet: one batch of two
 * rows, row {@value #DEPTH_ROW} decoded as depth and row {@value #NORMAL_ROW} as normals, switched by class labels
 * that also carry the scene domain. Each label row is {@code cat(sin(geo), cos(geo), sin(domain), cos(domain))} of
 * the one-hot vectors {@code geo} ({@code [0, 1]} for depth, {@code [1, 0]} for normals) and {@code domain}
 * ({@link Domain}), so {@value #CLASS_LABEL_DIM} values per row, the UNet's
 * {@code projection_class_embeddings_input_dim}.
 */
public final class GeoWizardConditioning {
  /** Width of a class-label row: 2 + 2 (geometry) + 3 + 3 (domain). */
  public static final int CLASS_LABEL_DIM = 10;
  /** The batch row decoded as depth. */
  public static final int DEPTH_ROW = 0;
  /** The batch row decoded as surface normals. */
  public static final int NORMAL_ROW = 1;

  /** The scene domain switch of GeoWizard ({@code --domain} of {@code run_infer.py}). */
  public enum Domain {
    INDOOR,
    OUTDOOR,
    OBJECT;

    /** The name {@code run_infer.py} takes ({@code indoor}, {@code outdoor}, {@code object}). */
    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses {@code indoor}, {@code outdoor} or {@code object}, as the original compares them (case-sensitive).
     *
     * @throws IllegalArgumentException for any other name (the original fails on it too)
     */
    public static Domain parse(String id) {
      for (Domain d : values()) {
        if (d.id().equals(id)) return d;
      }
      throw new IllegalArgumentException("unknown GeoWizard domain '" + id + "': expected indoor, outdoor or object");
    }
  }

  private GeoWizardConditioning() {}

  /** {@link #classLabels(Domain, torch.ScalarType)} in float32. */
  public static Tensor classLabels(Domain domain) {
    return classLabels(domain, torch.ScalarType.Float);
  }

  /**
   * The (2, {@value #CLASS_LABEL_DIM}) class labels of the [depth, normal] batch for {@code domain} in {@code dtype}
   * (the original builds the one-hot vectors in the pipeline's dtype and takes sin and cos there).
   */
  public static Tensor classLabels(Domain domain, torch.ScalarType dtype) {
    float[] domainHot = new float[3];
    domainHot[domain.ordinal()] = 1f;
    Tensor geo = Tensors.fromFloats(new float[] {0f, 1f, 1f, 0f}, 2, 2);                  // (2, 2): depth, normals
    Tensor dom = Tensors.fromFloats(domainHot, 1, 3).expand(2, 3);                        // (2, 3)
    if (dtype.intern() == torch.ScalarType.Double) {
      geo = geo.to(dtype);
      dom = dom.to(dtype);
      return F.cat(1, geo.sin(), geo.cos(), dom.sin(), dom.cos());                        // (2, 10)
    }
    return F.cat(1, sin(geo), cos(geo), sin(dom), cos(dom)).to(dtype);                    // (2, 10)
  }

  // The one-hot entries are 0 or 1, so sin and cos take four values. In single precision these are the values the
  // reference's torch 1.13 CPU kernels return: its cos(1f) is 0.54030234f, one ulp above the correctly rounded
  // 0.5403023f that the JDK and this project's libtorch give, and the goldens' class labels hold 0.54030234f.
  // Half and bfloat16 round either float to the same value.
  private static final float SIN_1_F32 = 0.84147096f;
  private static final float COS_1_F32 = 0.54030234f;

  private static Tensor sin(Tensor oneHot) {
    return map01(oneHot, 0f, SIN_1_F32);
  }

  private static Tensor cos(Tensor oneHot) {
    return map01(oneHot, 1f, COS_1_F32);
  }

  /** Maps each 0 / 1 entry of a float32 one-hot tensor to {@code at0} / {@code at1}. */
  private static Tensor map01(Tensor oneHot, float at0, float at1) {
    float[] hot = Tensors.toFloats(oneHot);
    float[] out = new float[hot.length];
    for (int i = 0; i < hot.length; i++) out[i] = hot[i] == 1f ? at1 : at0;
    return Tensors.fromFloats(out, Tensors.shape(oneHot));
  }

  /**
   * The UNet's encoder hidden states: the CLIP {@code image_embeds} of the input image, one token per batch row.
   *
   * @param imageEmbeds (1, D) {@code CLIPVisionModelWithProjection} image embedding
   * @return (2, 1, D)
   */
  public static Tensor encoderHiddenStates(Tensor imageEmbeds) {
    return imageEmbeds.unsqueeze(1).repeat(2, 1, 1);                                               // (2, 1, D)
  }
}
