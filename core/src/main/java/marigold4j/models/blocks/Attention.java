package marigold4j.models.blocks;

import marigold4j.nn.GroupNorm;
import marigold4j.nn.Linear;
import marigold4j.nn.Module;
import marigold4j.nn.ModuleList;
import marigold4j.torch.F;
import marigold4j.torch.Scopes;
import org.bytedeco.pytorch.Tensor;

/**
 * diffusers' {@code Attention} with its default SDPA processor ({@code AttnProcessor2_0}): optional GroupNorm over
 * the input, multi-head (cross-)attention with scale 1/sqrt(dimHead), an output projection, and an optional
 * residual connection. Covers the VAE mid-block attention (spatial input, group norm, residual) and the UNet
 * transformer blocks' {@code attn1}/{@code attn2} (token input, no norm, no residual).
 */
public final class Attention extends Module {
  private final GroupNorm groupNorm;
  private final Linear toQ;
  private final Linear toK;
  private final Linear toV;
  private final ModuleList<Linear> toOut;
  private final int heads;
  private final long dimHead;
  private final boolean residualConnection;
  private volatile boolean jointHalves;

  /**
   * @param crossAttentionDim width of the context tokens, or {@code null} for self-attention
   * @param heads number of heads; the inner width is {@code heads * dimHead}
   * @param qkvBias whether {@code to_q/to_k/to_v} have biases ({@code to_out.0} always has one)
   * @param upcastAttention diffusers' flag; it only matters for reduced-precision inputs, which {@link F#attention}
   *     already computes in fp32 on CPU
   * @param normGroups group count of {@code group_norm}, or {@code null} for none
   * @param normEps epsilon of {@code group_norm}
   * @param residualConnection whether the input is added to the output
   */
  public Attention(long queryDim, Long crossAttentionDim, int heads, long dimHead, boolean qkvBias,
      boolean upcastAttention, Integer normGroups, double normEps, boolean residualConnection) {
    long inner = heads * dimHead;
    long kvDim = crossAttentionDim == null ? queryDim : crossAttentionDim;
    groupNorm = normGroups == null ? null : child("group_norm", new GroupNorm(normGroups, queryDim, normEps));
    toQ = child("to_q", new Linear(queryDim, inner, qkvBias));
    toK = child("to_k", new Linear(kvDim, inner, qkvBias));
    toV = child("to_v", new Linear(kvDim, inner, qkvBias));
    // to_out is [Linear, Dropout] in diffusers; only index 0 holds weights.
    toOut = child("to_out", new ModuleList<>());
    toOut.add(new Linear(inner, queryDim, true));
    this.heads = heads;
    this.dimHead = dimHead;
    this.residualConnection = residualConnection;
  }

  /**
   * Switches between diffusers' default processor ({@code false}, the initial state) and GeoWizard's
   * {@code XFormersJointAttnProcessor} ({@code true}). GeoWizard runs the depth and the normal branch as the two
   * halves of one batch; with the joint processor, sample {@code i} of either half attends to the keys and values of
   * sample {@code i} of both halves (concatenated along the token axis, the first half's tokens first), which is how
   * the two branches exchange information. GeoWizard's {@code run_infer.py} enables it for every transformer
   * block's {@code attn1} by turning on xformers. Not to be switched while a forward pass is running.
   */
  public void setJointAttention(boolean joint) {
    this.jointHalves = joint;
  }

  /** Whether {@link #setJointAttention(boolean) joint attention} is on. */
  public boolean jointAttention() {
    return jointHalves;
  }

  /**
   * @param hidden (B, L, C) tokens, or (B, C, H, W) feature maps (attended as H*W tokens and restored)
   * @param context (B, S, crossAttentionDim) for cross-attention, or {@code null} for self-attention
   * @return the same shape as {@code hidden}
   */
  public Tensor forward(Tensor hidden, Tensor context) {
    Tensor residual = hidden;
    boolean spatial = hidden.dim() == 4;
    long b = hidden.size(0);
    long c = spatial ? hidden.size(1) : hidden.size(2);
    long height = spatial ? hidden.size(2) : 0;
    long width = spatial ? hidden.size(3) : 0;
    boolean channelsLast = spatial && !hidden.is_contiguous()
        && hidden.is_contiguous(org.bytedeco.pytorch.global.torch.MemoryFormat.ChannelsLast);
    Tensor x;                                                                           // (B, L, C)
    Tensor normed = null;
    if (spatial) {
      // GroupNorm over (C/G, H, W) equals diffusers' GroupNorm over (C/G, H*W). The (B, L, C) tokens are a view
      // either way: of an NCHW map transposed, exactly as diffusers hands them to the projections, or of a
      // channels-last map (the VAE's layout in reduced precision).
      normed = groupNorm == null ? null : groupNorm.forward(hidden);
      Tensor map = normed == null ? hidden : normed;
      x = channelsLast ? map.permute(0, 2, 3, 1).reshape(b, height * width, c)
          : map.reshape(b, c, height * width).transpose(1, 2);
    } else {
      x = groupNorm == null ? hidden : groupNorm.forward(hidden.transpose(1, 2)).transpose(1, 2);
    }
    Tensor kv = context == null ? x : context;
    long l = x.size(1);
    long s = kv.size(1);
    Tensor q = toQ.forward(x).reshape(b, l, heads, dimHead).transpose(1, 2);               // (B, heads, L, dh)
    Tensor k = toK.forward(kv).reshape(b, s, heads, dimHead).transpose(1, 2);              // (B, heads, S, dh)
    Tensor v = toV.forward(kv).reshape(b, s, heads, dimHead).transpose(1, 2);              // (B, heads, S, dh)
    if (x != hidden) Scopes.release(x, normed);
    if (jointHalves) {
      k = jointOverHalves(k);                                                              // (B, heads, 2S, dh)
      v = jointOverHalves(v);                                                              // (B, heads, 2S, dh)
    }
    Tensor a = F.attention(q, k, v, null, false, 1.0 / Math.sqrt(dimHead));             // (B, heads, L, dh)
    Scopes.release(q, k, v);
    Tensor merged = a.transpose(1, 2).reshape(b, l, heads * dimHead);                   // (B, L, inner)
    Scopes.release(a);
    Tensor out = toOut.get(0).forward(merged);                                          // (B, L, C)
    Scopes.release(merged);
    // (B, L, C) -> (B, C, H, W) as diffusers reshapes it: a view with channels-last strides, whatever the input's.
    // For a channels-last input the view is taken so that its batch stride is the canonical one too: reshape gives
    // the size-1 batch dimension a stride of C, which makes PyTorch suggest NCHW for it, and every later layer of the
    // VAE then ran NCHW activations into channels-last convolutions (full-size bf16 decode 9.5 s, now 4.1 s).
    if (spatial) {
      out = channelsLast ? out.view(b, height, width, c).permute(0, 3, 1, 2)
          : out.transpose(1, 2).reshape(b, c, height, width);
    }
    return residualConnection ? F.addConsume(out, residual) : out;
  }

  /** (B, heads, S, dh) -> (B, heads, 2S, dh): both halves' tokens side by side, shared by the two halves. */
  private static Tensor jointOverHalves(Tensor t) {
    long b = t.size(0);
    if (b % 2 != 0) {
      throw new IllegalArgumentException("joint attention needs a batch of two equal halves, got batch size " + b);
    }
    long half = b / 2;
    Tensor joint = F.cat(2, t.narrow(0, 0, half), t.narrow(0, half, half));              // (B/2, heads, 2S, dh)
    return F.cat(0, joint, joint);                                                      // (B, heads, 2S, dh)
  }
}
