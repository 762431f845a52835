package marigold4j.models.blocks;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import marigold4j.nn.Module;
import marigold4j.nn.Parameter;
import marigold4j.nn.StateDicts;
import marigold4j.testing.Golden;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import marigold4j.weights.SafeTensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The shared diffusers blocks: parameter names, and numerics against goldens or explicit formulas. */
class BlocksTest {
  private static Golden unet;
  private static Map<String, Tensor> unetWeights;

  @BeforeAll
  static void load() {
    unet = Golden.load("modules/tiny-marigold-depth", "unet_intermediates");
    Path file = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth/unet/diffusion_pytorch_model.safetensors");
    unetWeights = SafeTensors.load(file);
  }

  /** Loads the entries of the UNet checkpoint under {@code prefix} into {@code m}. */
  private static <M extends Module> M fromUnet(M m, String prefix) {
    Map<String, Tensor> sub = new LinkedHashMap<>();
    unetWeights.forEach((k, t) -> {
      if (k.startsWith(prefix)) sub.put(k.substring(prefix.length()), t);
    });
    StateDicts.loadStrict(m, sub, "unet:" + prefix, torch.ScalarType.Float);
    return m;
  }

  /** Random weights for every slot (for formula checks that need no checkpoint). */
  private static <M extends Module> M randomised(M m) {
    for (Parameter p : m.namedParameters().values()) p.set(torch.randn(p.shape()).mul(F.s(0.3)));
    return m;
  }

  @Test
  void namesResnetParametersInDiffusersOrder() {
    assertThat(new ResnetBlock2D(16, 32, 128L, 8, 1e-6).namedParameters().keySet()).containsExactly(
        "norm1.weight", "norm1.bias", "conv1.weight", "conv1.bias", "time_emb_proj.weight", "time_emb_proj.bias",
        "norm2.weight", "norm2.bias", "conv2.weight", "conv2.bias", "conv_shortcut.weight", "conv_shortcut.bias");
    assertThat(new ResnetBlock2D(32, 32, null, 8, 1e-6).namedParameters().keySet()).containsExactly(
        "norm1.weight", "norm1.bias", "conv1.weight", "conv1.bias", "norm2.weight", "norm2.bias", "conv2.weight",
        "conv2.bias");
    assertThat(new ResnetBlock2D(16, 32, null, 8, 1e-6).namedParameters().get("conv_shortcut.weight").shape())
        .containsExactly(32, 16, 1, 1);
  }

  @Test
  void namesAttentionParametersInDiffusersOrder() {
    Attention spatial = new Attention(32, null, 1, 32, true, false, 8, 1e-6, true);
    assertThat(spatial.namedParameters().keySet()).containsExactly("group_norm.weight", "group_norm.bias",
        "to_q.weight", "to_q.bias", "to_k.weight", "to_k.bias", "to_v.weight", "to_v.bias", "to_out.0.weight",
        "to_out.0.bias");
    Attention cross = new Attention(32, 16L, 2, 16, false, false, null, 1e-5, false);
    assertThat(cross.namedParameters().keySet()).containsExactly("to_q.weight", "to_k.weight", "to_v.weight",
        "to_out.0.weight", "to_out.0.bias");
    assertThat(cross.namedParameters().get("to_k.weight").shape()).containsExactly(32, 16);
  }

  @Test
  void reproducesUnetResnetWithTimeEmbedding() {
    ResnetBlock2D block = fromUnet(new ResnetBlock2D(32, 32, 128L, 8, 1e-5), "down_blocks.0.resnets.0.");
    try (NoGradGuard g = new NoGradGuard()) {
      Tensor out = block.forward(unet.out("intermediate.conv_in"), unet.out("intermediate.time_embedding"));
      String key = "intermediate.down_blocks.0.resnets.0";
      Golden.assertClose(out, unet.out(key), unet.atol(key), key);
    }
  }

  @Test
  void reproducesUnetDownsamplerWithSymmetricPadding() {
    Downsample2D down = fromUnet(new Downsample2D(32, 1), "down_blocks.0.downsamplers.0.");
    try (NoGradGuard g = new NoGradGuard()) {
      Tensor out = down.forward(unet.out("intermediate.down_blocks.0.1"));          // output of the last attention
      String key = "intermediate.down_blocks.0.2";                                  // the block's last skip output
      Golden.assertClose(out, unet.out(key), unet.atol(key), key);
    }
  }

  @Test
  void vaeDownsamplerPadsOnlyRightAndBottom() {
    Downsample2D down = randomised(new Downsample2D(4, 0));
    Tensor x = torch.randn(1, 4, 75, 101);
    Tensor out = down.forward(x);
    assertThat(Tensors.shape(out)).containsExactly(1, 4, 37, 50);                   // (n - 2) // 2 + 1
    Map<String, Parameter> p = down.namedParameters();
    Tensor padded = torch.cat(new org.bytedeco.pytorch.TensorVector(x, torch.zeros(1, 4, 75, 1)), 3);
    padded = torch.cat(new org.bytedeco.pytorch.TensorVector(padded, torch.zeros(1, 4, 1, 102)), 2);
    Tensor expected = F.conv2d(padded, p.get("conv.weight").get(), p.get("conv.bias").get(), 2, 0);
    assertThat(Tensors.maxAbsDiff(out, expected)).isLessThanOrEqualTo(1e-6);
  }

  @Test
  void upsamplerDoublesOrMatchesAnExplicitSize() {
    Upsample2D up = randomised(new Upsample2D(4));
    Tensor x = torch.randn(1, 4, 5, 7);
    assertThat(Tensors.shape(up.forward(x, null))).containsExactly(1, 4, 10, 14);
    assertThat(Tensors.shape(up.forward(x, new long[] {9, 13}))).containsExactly(1, 4, 9, 13);
    Map<String, Parameter> p = up.namedParameters();
    Tensor nearest = x.repeat_interleave(2, new org.bytedeco.pytorch.LongOptional(2), new org.bytedeco.pytorch.LongOptional())
        .repeat_interleave(2, new org.bytedeco.pytorch.LongOptional(3), new org.bytedeco.pytorch.LongOptional());
    Tensor expected = F.conv2d(nearest, p.get("conv.weight").get(), p.get("conv.bias").get(), 1, 1);
    assertThat(Tensors.maxAbsDiff(up.forward(x, null), expected)).isLessThanOrEqualTo(1e-6);
  }

  @Test
  void crossAttentionMatchesSoftmaxFormula() {
    Attention attn = randomised(new Attention(32, 16L, 2, 8, false, false, null, 1e-5, false));
    Map<String, Parameter> p = attn.namedParameters();
    Tensor x = torch.randn(2, 6, 32);
    Tensor ctx = torch.randn(2, 3, 16);
    Tensor q = F.linear(x, p.get("to_q.weight").get(), null).reshape(2, 6, 2, 8).transpose(1, 2);
    Tensor k = F.linear(ctx, p.get("to_k.weight").get(), null).reshape(2, 3, 2, 8).transpose(1, 2);
    Tensor v = F.linear(ctx, p.get("to_v.weight").get(), null).reshape(2, 3, 2, 8).transpose(1, 2);
    Tensor w = torch.softmax(q.matmul(k.transpose(-1, -2)).div(F.s(Math.sqrt(8))), -1);
    Tensor heads = w.matmul(v).transpose(1, 2).reshape(2, 6, 16);
    Tensor expected = F.linear(heads, p.get("to_out.0.weight").get(), p.get("to_out.0.bias").get());
    assertThat(Tensors.maxAbsDiff(attn.forward(x, ctx), expected)).isLessThanOrEqualTo(1e-5);
  }

  @Test
  void spatialSelfAttentionAttendsOverPixelsAndAddsTheInput() {
    Attention attn = randomised(new Attention(8, null, 1, 8, true, false, 4, 1e-6, true));
    Map<String, Parameter> p = attn.namedParameters();
    Tensor x = torch.randn(1, 8, 3, 5);
    Tensor n = F.groupNorm(x, 4, p.get("group_norm.weight").get(), p.get("group_norm.bias").get(), 1e-6);
    Tensor tokens = n.reshape(1, 8, 15).transpose(1, 2);                            // (1, 15, 8)
    Tensor q = F.linear(tokens, p.get("to_q.weight").get(), p.get("to_q.bias").get());
    Tensor k = F.linear(tokens, p.get("to_k.weight").get(), p.get("to_k.bias").get());
    Tensor v = F.linear(tokens, p.get("to_v.weight").get(), p.get("to_v.bias").get());
    Tensor w = torch.softmax(q.matmul(k.transpose(-1, -2)).div(F.s(Math.sqrt(8))), -1);
    Tensor o = F.linear(w.matmul(v), p.get("to_out.0.weight").get(), p.get("to_out.0.bias").get());
    Tensor expected = o.transpose(1, 2).reshape(1, 8, 3, 5).add(x);
    assertThat(Tensors.maxAbsDiff(attn.forward(x, null), expected)).isLessThanOrEqualTo(1e-5);
  }
}
