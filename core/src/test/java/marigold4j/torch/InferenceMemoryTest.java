package marigold4j.torch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.function.Supplier;
import marigold4j.models.blocks.Attention;
import marigold4j.models.blocks.ResnetBlock2D;
import marigold4j.models.unet.BasicTransformerBlock;
import marigold4j.nn.Module;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The inference fast path (in-place element-wise ops and early release of intermediates, see {@link F} and
 * {@link Scopes}): it must change memory use only, never a result, and must leave autograd's path alone.
 */
class InferenceMemoryTest {
  @BeforeAll
  static void boot() {
    Engine.init();
  }

  @Test
  void consumingOpsOverwriteTheirFreshArgumentOnlyWithoutAutograd() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(3);
      Tensor x = torch.randn(2, 3, 4, 5);
      Tensor expected = torch.silu(x);
      try (NoGradGuard ng = new NoGradGuard()) {
        Tensor fresh = x.clone();
        Tensor out = F.siluConsume(fresh);
        assertThat(out).isSameAs(fresh);
        assertThat(torch.equal(out, expected)).isTrue();
      }
      Tensor leaf = x.clone().requires_grad_(true);
      Tensor fresh = leaf.mul(F.s(1.0));
      Tensor out = F.siluConsume(fresh);
      assertThat(out).isNotSameAs(fresh);
      assertThat(torch.equal(fresh, x)).as("the argument is left intact under autograd").isTrue();
      out.sum().backward();
      assertThat(leaf.grad().defined()).isTrue();
    }
  }

  @Test
  void addConsumeWritesInPlaceOnlyWhenTheResultFitsTheArgument() {
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(4);
      Tensor big = torch.randn(1, 3, 4, 4);
      Tensor small = torch.randn(1, 3, 1, 1);
      Tensor sum = big.add(small);

      Tensor fresh = big.clone();
      assertThat(F.addConsume(fresh, small)).isSameAs(fresh);          // broadcasting the smaller operand: fits
      assertThat(torch.equal(fresh, sum)).isTrue();

      Tensor freshSmall = small.clone();
      Tensor widened = F.addConsume(freshSmall, big);                   // the result is larger than the argument
      assertThat(widened).isNotSameAs(freshSmall);
      assertThat(torch.equal(widened, sum)).isTrue();
      assertThat(torch.equal(freshSmall, small)).isTrue();

      Tensor freshFloat = big.clone();                                  // promotion would change the dtype
      Tensor promoted2 = F.addConsume(freshFloat, small.to(torch.ScalarType.Double));
      assertThat(promoted2).isNotSameAs(freshFloat);
      assertThat(torch.equal(freshFloat, big)).isTrue();
      assertThat(Tensors.dtype(promoted2)).isEqualTo(torch.ScalarType.Double);
    }
  }

  @Test
  void releasedTensorsAreFreedAtOnceAndTheirScopeClosesCleanly() {
    Tensor base;
    Tensor view;
    try (PointerScope scope = new PointerScope()) {
      base = torch.arange(F.s(10)).to(torch.ScalarType.Float);
      view = base.narrow(0, 2, 3);
      Tensor other = torch.ones(4);
      Scopes.release(base, null);
      assertThat(base.isNull()).isTrue();
      assertThat(view.sum().item_float()).as("a view keeps its storage").isEqualTo(2f + 3f + 4f);
      assertThat(Scopes.chain(other, view, other)).isSameAs(view);
      assertThat(other.isNull()).as("the chain's input belongs to the caller").isFalse();
      Tensor next = view.add(F.s(1));
      Scopes.chain(view, next, other);
      assertThat(view.isNull()).as("a consumed link is released").isTrue();
    }
    assertThat(base.isNull()).isTrue();
  }

  @Test
  void blocksGiveIdenticalResultsWithAndWithoutTheInferenceFastPath() {
    check(new ResnetBlock2D(8, 16, 12L, 4, 1e-5), (m) -> {
      ResnetBlock2D r = (ResnetBlock2D) m;
      torch.manual_seed(7);
      Tensor x = torch.randn(2, 8, 6, 5);
      Tensor temb = torch.randn(2, 12);
      return () -> r.forward(x, temb);
    });
    check(new ResnetBlock2D(8, 8, null, 4, 1e-6), (m) -> {
      torch.manual_seed(8);
      Tensor x = torch.randn(1, 8, 7, 3);
      return () -> ((ResnetBlock2D) m).forward(x, null);
    });
    check(new Attention(8, null, 1, 8, true, false, 4, 1e-6, true), (m) -> {
      torch.manual_seed(9);
      Tensor x = torch.randn(2, 8, 5, 6);
      return () -> ((Attention) m).forward(x, null);
    });
    check(new BasicTransformerBlock(16, 2, 8, 12, false), (m) -> {
      torch.manual_seed(10);
      Tensor x = torch.randn(2, 9, 16);
      Tensor context = torch.randn(2, 3, 12);
      return () -> ((BasicTransformerBlock) m).forward(x, context);
    });
  }

  @Test
  void channelsLastMapsStayChannelsLastThroughTheVaeAttention() {
    Attention a = new Attention(8, null, 1, 8, true, false, 4, 1e-6, true);
    try (PointerScope scope = new PointerScope(); NoGradGuard ng = new NoGradGuard()) {
      a.initRandom(11, new Device("cpu"), torch.ScalarType.Float);
      torch.manual_seed(12);
      Tensor x = torch.randn(1, 8, 5, 6);
      Tensor nchw = a.forward(x, null);
      Tensor cl = a.forward(x.contiguous(torch.MemoryFormat.ChannelsLast), null);
      assertThat(cl.is_contiguous(torch.MemoryFormat.ChannelsLast)).isTrue();
      // what the next layer goes by: with a non-canonical batch stride PyTorch suggests NCHW for the same data
      assertThat(cl.suggest_memory_format().intern()).isEqualTo(torch.MemoryFormat.ChannelsLast);
      assertThat(cl.sub(nchw).abs().max().item_float()).isLessThan(1e-5f);
    }
  }

  /** Runs {@code forward} with autograd recording (the ordinary path) and without (the fast path): bit-identical. */
  private static void check(Module m, java.util.function.Function<Module, Supplier<Tensor>> forward) {
    try (PointerScope scope = new PointerScope()) {
      try (NoGradGuard ng = new NoGradGuard()) {
        m.initRandom(5, new Device("cpu"), torch.ScalarType.Float);
      }
      Supplier<Tensor> run = forward.apply(m);
      Tensor ordinary = run.get().detach();
      Tensor fast;
      try (NoGradGuard ng = new NoGradGuard()) {
        fast = run.get();
      }
      assertThat(torch.equal(fast, ordinary)).as(m.getClass().getSimpleName()).isTrue();
    }
  }
}
