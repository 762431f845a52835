package marigold4j.models.vae;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import marigold4j.weights.WeightFiles;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.nn.Conv2d;
import marigold4j.nn.Module;
import marigold4j.nn.Parameter;
import marigold4j.nn.StateDicts;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import marigold4j.weights.SafeTensors;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * diffusers' {@code AutoencoderKL} (the Stable Diffusion 2 VAE that Marigold, E2E-FT and GeoWizard use), for
 * inference: {@code encoder -> quant_conv} gives the latent distribution's moments, {@code post_quant_conv ->
 * decoder} maps a latent back to an image. Latents here are <em>unscaled</em>; multiplying by
 * {@link #scalingFactor()} (and dividing before decoding) is the pipeline's job.
 *
 * <p>Calls build no autograd graph under a {@code NoGradGuard} (the loaded weights do not require gradients) and
 * open no {@code PointerScope}: the caller owns one per image or batch.
 */
public final class AutoencoderKL extends Module {
  private static final Logger LOG = LoggerFactory.getLogger(AutoencoderKL.class);
  static final String CONFIG = "config.json";
  static final String WEIGHTS = "diffusion_pytorch_model.safetensors";

  /** Mid-block attention names written by diffusers before 0.14 (its deprecated {@code AttentionBlock}). */
  private static final Pattern LEGACY_ATTENTION =
      Pattern.compile("^((?:encoder|decoder)\\.mid_block\\.attentions\\.\\d+)\\.(query|key|value|proj_attn)\\.(weight|bias)$");
  private static final Map<String, String> LEGACY_NAMES =
      Map.of("query", "to_q", "key", "to_k", "value", "to_v", "proj_attn", "to_out.0");
  private static final Pattern ATTENTION_PROJECTION =
      Pattern.compile("^(?:encoder|decoder)\\.mid_block\\.attentions\\.\\d+\\.(?:to_q|to_k|to_v|to_out\\.0)\\.weight$");

  private final AutoencoderKLConfig config;
  private final Encoder encoder;
  private final Decoder decoder;
  private final Conv2d quantConv;
  private final Conv2d postQuantConv;
  private final Parameter firstWeight;

  /** An unloaded model of the given configuration (weights arrive through {@link StateDicts#loadStrict}). */
  public AutoencoderKL(AutoencoderKLConfig config) {
    this.config = config;
    long latent = config.latentChannels();
    encoder = child("encoder", new Encoder(config));
    decoder = child("decoder", new Decoder(config));
    quantConv = config.useQuantConv() ? child("quant_conv", new Conv2d(2 * latent, 2 * latent, 1, 1, 0)) : null;
    postQuantConv = config.usePostQuantConv() ? child("post_quant_conv", new Conv2d(latent, latent, 1, 1, 0)) : null;
    firstWeight = namedParameters().get("encoder.conv_in.weight");
  }

  /**
   * Loads {@code componentDir/config.json} and its weights in fp32. The weights are long-lived: they hold their own
   * references and survive any {@code PointerScope} the caller has open.
   */
  public static AutoencoderKL load(Path componentDir) {
    return load(componentDir, torch.ScalarType.Float);
  }

  /** Loads {@code componentDir/config.json} and its weights, converted to {@code dtype}. */
  public static AutoencoderKL load(Path componentDir, torch.ScalarType dtype) {
    Engine.init();
    AutoencoderKLConfig config = AutoencoderKLConfig.read(componentDir.resolve(CONFIG));
    AutoencoderKL vae = new AutoencoderKL(config);
    WeightFiles.loadInto(vae, componentDir, null, dtype);
    LOG.debug("loaded AutoencoderKL from {}: {} parameters, {}", componentDir, vae.numParameters(), dtype);
    return vae;
  }

  public AutoencoderKLConfig config() {
    return config;
  }

  /** The factor applied to latents before the UNet ({@code scaling_factor}, 0.18215 for SD2). */
  public double scalingFactor() {
    return config.scalingFactor();
  }

  /**
   * Encoder then quant_conv: the moments of the latent distribution.
   *
   * @param rgb (B, 3, H, W) in [-1, 1]
   * @return (B, 2 * latent, h, w): the mean, then the log-variance; h = H / 8 for SD2 (floored at each level). The
   *     encoder's stages are reported to an open {@link #hook} as {@code encoder.<stage>} (the decoder's, with
   *     {@code post_quant_conv}, as {@code decoder.<stage>}), in the internal memory layout.
   */
  public Tensor encodeMoments(Tensor rgb) {
    Tensor h = encoder.forward(internalLayout(rgb));
    return externalLayout(quantConv == null ? h : quantConv.forward(h));
  }

  /** The mean of the latent distribution, unscaled: (B, 3, H, W) -> (B, latent, h, w). The pipelines use no sampling. */
  public Tensor encodeMean(Tensor rgb) {
    return encodeMoments(rgb).narrow(1, 0, config.latentChannels());
  }

  /**
   * post_quant_conv then decoder.
   *
   * @param latent (B, latent, h, w), unscaled (already divided by {@link #scalingFactor()})
   * @return (B, out, 8h, 8w) for SD2, roughly in [-1, 1]
   */
  public Tensor decode(Tensor latent) {
    Tensor z = internalLayout(latent);
    if (postQuantConv != null) {
      z = postQuantConv.forward(z);
      report("post_quant_conv", z);
    }
    return externalLayout(decoder.forward(z));
  }

  /**
   * Inputs follow the weights' dtype, so a model loaded in bf16 accepts the pipelines' fp32 tensors. A
   * reduced-precision model at inference also lays them out channels-last (NHWC), which every layer keeps: oneDNN's
   * channels-last bf16 convolutions are up to 5x faster on CPU than NCHW ones at the VAE's full-resolution stages.
   * fp32 stays NCHW: PyTorch's channels-last GroupNorm kernel is several hundred times less accurate there (3e-5
   * relative at 768x576), which breaks parity with the original, and fp32 is the precision chosen for parity.
   */
  private Tensor internalLayout(Tensor x) {
    torch.ScalarType dtype = Tensors.dtype(firstWeight.get());
    Tensor typed = Tensors.dtype(x) == dtype ? x : x.to(dtype);
    return Tensors.isHalfPrecision(typed) && !GradMode.is_enabled()
        ? typed.contiguous(torch.MemoryFormat.ChannelsLast) : typed;
  }

  /** Results are handed out in the ordinary contiguous NCHW layout. */
  private static Tensor externalLayout(Tensor x) {
    return x.contiguous();
  }

  /** Maps the legacy mid-block attention names {@code query/key/value/proj_attn} to {@code to_q/to_k/to_v/to_out.0}. */
  @Override
  public UnaryOperator<String> legacyKeyMapper() {
    return key -> {
      Matcher m = LEGACY_ATTENTION.matcher(key);
      return m.matches() ? m.group(1) + "." + LEGACY_NAMES.get(m.group(2)) + "." + m.group(3) : key;
    };
  }

  /** Legacy attention projections may be stored as 1x1 convolutions (C, C, 1, 1); they are used as (C, C). */
  @Override
  public Tensor adaptLegacyTensor(String key, Tensor t) {
    if (ATTENTION_PROJECTION.matcher(key).matches() && t.dim() == 4 && t.size(2) == 1 && t.size(3) == 1) {
      return t.reshape(t.size(0), t.size(1));
    }
    return t;
  }
}
