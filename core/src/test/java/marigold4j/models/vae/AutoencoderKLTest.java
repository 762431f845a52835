package marigold4j.models.vae;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import marigold4j.nn.StateDicts;
import marigold4j.nn.Module;
import marigold4j.testing.Golden;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import marigold4j.weights.SafeTensors;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** AutoencoderKL against goldens of diffusers 0.30.2 on the tiny checkpoints (random weights, real layouts). */
class AutoencoderKLTest {
  private static final Logger LOG = LoggerFactory.getLogger(AutoencoderKLTest.class);
  private static final Map<String, AutoencoderKL> MODELS = new ConcurrentHashMap<>();

  static Path vaeDir(String model) {
    return Golden.fixtures().resolve("checkpoints/" + model + "/vae");
  }

  static AutoencoderKL vae(String model) {
    return MODELS.computeIfAbsent(model, m -> AutoencoderKL.load(vaeDir(m)));
  }

  /** Asserts {@code actual} matches the golden output {@code key} within its suggested tolerance, logging the gap. */
  static void check(Golden g, String key, Tensor actual) {
    double atol = g.atol(key);
    LOG.info("{} {}: max |java - python| = {} (atol {})", g.json().path("model").asText(),
        g.json().path("case").asText() + "/" + key, String.format("%.3g", Tensors.maxAbsDiff(actual, g.out(key))),
        String.format("%.3g", atol));
    Golden.assertClose(actual, g.out(key), atol, key);
  }

  @ParameterizedTest(name = "{0}/{1}")
  @CsvSource({
    "tiny-marigold-depth, vae_encode",
    "tiny-marigold-depth, vae_encode_odd",
    "tiny-geowizard, vae_encode",
    "tiny-geowizard, vae_encode_odd"})
  void reproducesEncoderMomentsMeanAndScaledLatent(String model, String caseName) {
    Golden g = Golden.load("modules/" + model, caseName);
    AutoencoderKL vae = vae(model);
    try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
      Map<String, Tensor> taps = new LinkedHashMap<>();
      Tensor moments;
      try (Module.Hook h = vae.hook(taps::put)) {
        moments = vae.encodeMoments(g.in("image"));
      }
      check(g, "encoder_out", taps.get("encoder.conv_out"));
      check(g, "moments", moments);
      Tensor mean = vae.encodeMean(g.in("image"));
      check(g, "mean", mean);
      check(g, "latent_scaled", mean.mul(F.s(vae.scalingFactor())));
    }
  }

  @ParameterizedTest(name = "{0}/{1}")
  @CsvSource({
    "tiny-marigold-depth, vae_decode",
    "tiny-marigold-depth, vae_decode_odd",
    "tiny-geowizard, vae_decode",
    "tiny-geowizard, vae_decode_odd"})
  void reproducesDecoderOutputAndItsChannelMean(String model, String caseName) {
    Golden g = Golden.load("modules/" + model, caseName);
    AutoencoderKL vae = vae(model);
    try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
      Map<String, Tensor> taps = new LinkedHashMap<>();
      Tensor decoded;
      try (Module.Hook h = vae.hook(taps::put)) {
        decoded = vae.decode(g.in("latent"));
      }
      check(g, "post_quant_conv", taps.get("post_quant_conv"));
      check(g, "decoded", decoded);
      check(g, "decoded_channel_mean", decoded.mean(new long[] {1}, true, new org.bytedeco.pytorch.ScalarTypeOptional()));
    }
  }

  @Test
  void decodesOddLatentToEightTimesItsSize() {
    Golden g = Golden.load("modules/tiny-marigold-depth", "vae_decode_odd");
    AutoencoderKL vae = vae("tiny-marigold-depth");
    try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
      assertThat(Tensors.shape(vae.decode(g.in("latent")))).containsExactly(1, 3, 72, 104);
    }
  }

  @Test
  void reproducesEveryEncoderStage() {
    Golden g = Golden.load("modules/tiny-marigold-depth", "vae_encode_intermediates");
    AutoencoderKL vae = vae("tiny-marigold-depth");                 // weights live outside the scope
    try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
      Map<String, Tensor> taps = new LinkedHashMap<>();
      Tensor moments;
      try (Module.Hook h = vae.hook(taps::put)) {
        moments = vae.encodeMoments(g.in("image"));
      }
      assertThat(taps.keySet()).containsExactly("encoder.conv_in", "encoder.down_blocks.0", "encoder.down_blocks.1",
          "encoder.down_blocks.2", "encoder.down_blocks.3", "encoder.mid_block", "encoder.conv_norm_out",
          "encoder.conv_out");
      taps.forEach((name, t) -> check(g, "intermediate." + name, t));
      check(g, "encoder_out", taps.get("encoder.conv_out"));
      check(g, "moments", moments);
      check(g, "mean", vae.encodeMean(g.in("image")));
    }
  }

  @Test
  void reproducesEveryDecoderStage() {
    Golden g = Golden.load("modules/tiny-marigold-depth", "vae_decode_intermediates");
    AutoencoderKL vae = vae("tiny-marigold-depth");
    try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
      Map<String, Tensor> taps = new LinkedHashMap<>();
      Tensor decoded;
      try (Module.Hook h = vae.hook(taps::put)) {
        decoded = vae.decode(g.in("latent"));
      }
      assertThat(taps.keySet()).containsExactly("post_quant_conv", "decoder.conv_in", "decoder.mid_block",
          "decoder.up_blocks.0", "decoder.up_blocks.1", "decoder.up_blocks.2", "decoder.up_blocks.3",
          "decoder.conv_norm_out", "decoder.conv_out");
      taps.forEach((name, t) -> check(g, "intermediate." + name, t));
      check(g, "decoded", decoded);
    }
  }

  @Test
  void listsStateDictKeysInDiffusersOrder() {
    // The real SD2 VAE manifest orders encoder (conv_in, down_blocks, mid_block [attentions before resnets], ...),
    // decoder (conv_in, up_blocks before mid_block, ...), then quant_conv, post_quant_conv.
    var keys = new java.util.ArrayList<>(vae("tiny-marigold-depth").stateDictSlots().keySet());
    assertThat(keys.get(0)).isEqualTo("encoder.conv_in.weight");
    assertThat(keys.indexOf("encoder.mid_block.attentions.0.group_norm.weight"))
        .isLessThan(keys.indexOf("encoder.mid_block.resnets.0.norm1.weight"));
    assertThat(keys.indexOf("decoder.up_blocks.0.resnets.0.norm1.weight"))
        .isLessThan(keys.indexOf("decoder.mid_block.attentions.0.group_norm.weight"));
    assertThat(keys.subList(keys.size() - 4, keys.size())).containsExactly("quant_conv.weight", "quant_conv.bias",
        "post_quant_conv.weight", "post_quant_conv.bias");
  }

  @Test
  void loadsLegacyAttentionNamesAndConvShapedProjections() {
    Path dir = vaeDir("tiny-marigold-depth");
    Map<String, Tensor> legacy = new LinkedHashMap<>();
    SafeTensors.load(dir.resolve(AutoencoderKL.WEIGHTS)).forEach((k, t) -> {
      String key = k.replace(".to_q.", ".query.").replace(".to_k.", ".key.").replace(".to_v.", ".value.")
          .replace(".to_out.0.", ".proj_attn.");
      // Files converted from the original LDM checkpoints keep the projections as 1x1 convolutions.
      boolean convShaped = !key.equals(k) && key.endsWith(".weight") && key.startsWith("decoder.");
      legacy.put(key, convShaped ? t.reshape(t.size(0), t.size(1), 1, 1) : t);
    });
    assertThat(legacy).containsKey("encoder.mid_block.attentions.0.query.weight")
        .containsKey("decoder.mid_block.attentions.0.proj_attn.bias").doesNotContainKey("decoder.mid_block.attentions.0.to_q.weight");
    assertThat(Tensors.shape(legacy.get("decoder.mid_block.attentions.0.key.weight"))).containsExactly(32, 32, 1, 1);

    AutoencoderKL vae = new AutoencoderKL(AutoencoderKLConfig.read(dir.resolve(AutoencoderKL.CONFIG)));
    StateDicts.loadStrict(vae, legacy, "legacy", torch.ScalarType.Float);
    Golden enc = Golden.load("modules/tiny-marigold-depth", "vae_encode_intermediates");
    Golden dec = Golden.load("modules/tiny-marigold-depth", "vae_decode_intermediates");
    try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
      check(enc, "moments", vae.encodeMoments(enc.in("image")));
      check(dec, "decoded", vae.decode(dec.in("latent")));
    }
  }

  @Test
  void buildsNoAutogradGraphUnderNoGradGuard() {
    AutoencoderKL vae = AutoencoderKL.load(vaeDir("tiny-marigold-depth"));
    vae.namedParameters().values().forEach(p -> p.get().requires_grad_(true));   // as when fine-tuning
    try (PointerScope scope = new PointerScope()) {
      Tensor z = torch.randn(1, 4, 4, 4);
      try (NoGradGuard ng = new NoGradGuard()) {
        assertThat(vae.decode(z).requires_grad()).isFalse();
        assertThat(vae.encodeMean(torch.randn(1, 3, 16, 16)).requires_grad()).isFalse();
      }
      assertThat(vae.decode(z).requires_grad()).isTrue();                       // and one is built without it
    }
    vae.close();
  }

  /**
   * In bf16 at inference the VAE works channels-last; every stage must hand the next one a tensor that PyTorch
   * recognises as channels-last (its suggested format, which also looks at the batch stride), or the layers after it
   * fall back to NCHW: an attention output with a non-canonical batch stride once made the whole full-size decoder run
   * NCHW activations into channels-last convolutions, twice as slow.
   */
  @Test
  void reducedPrecisionStagesStayChannelsLast() {
    AutoencoderKL vae = AutoencoderKL.load(vaeDir("tiny-marigold-depth"), torch.ScalarType.BFloat16);
    Golden dec = Golden.load("modules/tiny-marigold-depth", "vae_decode_intermediates");
    Golden enc = Golden.load("modules/tiny-marigold-depth", "vae_encode_intermediates");
    Map<String, torch.MemoryFormat> formats = new LinkedHashMap<>();
    BiConsumer<String, Tensor> tap = (name, t) -> {
      if (t.dim() == 4 && t.size(1) > 1 && t.size(2) * t.size(3) > 1) {
        formats.put(name, t.suggest_memory_format().intern());   // 1-channel or 1-pixel maps suggest nothing
      }
    };
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      try (Module.Hook h = vae.hook((n, t) -> tap.accept("encode." + n, t))) {
        vae.encodeMoments(enc.in("image"));
      }
      try (Module.Hook h = vae.hook((n, t) -> tap.accept("decode." + n, t))) {
        vae.decode(dec.in("latent"));
      }
    }
    vae.close();
    assertThat(formats).containsKeys("encode.encoder.mid_block", "decode.decoder.mid_block",
        "decode.decoder.up_blocks.3");
    assertThat(formats).allSatisfy((name, format) ->
        assertThat(format).as(name).isEqualTo(torch.MemoryFormat.ChannelsLast));
  }

  @Test
  void keepsNativeMemoryFlatOverRepeatedCallsInScopes() {
    AutoencoderKL vae = vae("tiny-marigold-depth");
    Golden g = Golden.load("modules/tiny-marigold-depth", "vae_encode");
    Tensor image = g.in("image");
    Runnable call = () -> {
      try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
        Tensor latent = vae.encodeMean(image).mul(F.s(vae.scalingFactor()));
        vae.decode(latent.div(F.s(vae.scalingFactor()))).sum().item_double();
      }
    };
    for (int i = 0; i < 5; i++) call.run();
    long before = Pointer.physicalBytes();
    for (int i = 0; i < 30; i++) call.run();
    long growth = Pointer.physicalBytes() - before;
    LOG.info("physicalBytes growth over 30 encode+decode calls: {} MB", growth / (1024 * 1024));
    assertThat(growth).isLessThan(50L * 1024 * 1024);
  }
}
