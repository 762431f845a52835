package marigold4j.models.unet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import marigold4j.nn.ActivationCheckpoint;
import marigold4j.nn.Parameter;
import marigold4j.nn.SegmentRunner;
import marigold4j.testing.Golden;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The UNet run block by block through {@link ActivationCheckpoint} against the plain forward and backward pass on the
 * tiny checkpoints: same output, same parameter gradients. The forward values are expected bit for bit (the same
 * kernels on the same inputs); gradients may differ by the order in which autograd sums the contributions of a value
 * used by several blocks (the time embedding, the skip connections), so they are compared at 1e-6 of each tensor's
 * largest gradient, float32 reassociation noise.
 */
class UNetActivationCheckpointTest {
  static final double GRAD_RTOL = 1e-6;

  private static UNet2DConditionModel trainableUnet(String checkpoint) {
    Golden.fixtures();
    Engine.setThreads(2);
    UNet2DConditionModel unet = UNet2DConditionModel.load(Golden.fixtures().resolve("checkpoints/" + checkpoint
        + "/unet"));
    for (Parameter p : unet.namedParameters().values()) {
      if (p.kind() == Parameter.Kind.PARAMETER) p.set(p.get().clone().requires_grad_(true));
    }
    return unet;
  }

  /** The gradients of every parameter, cloned, then cleared for the next pass. */
  private static Map<String, Tensor> takeGradients(UNet2DConditionModel unet) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    unet.namedParameters().forEach((k, p) -> {
      if (p.kind() != Parameter.Kind.PARAMETER) return;
      Tensor g = p.get().grad();
      if (g.defined()) out.put(k, g.clone());
      p.get().mutable_grad().reset();
    });
    return out;
  }

  @ParameterizedTest(name = "{0} latent {1}x{2}")
  @CsvSource({"tiny-marigold-depth, 6, 8", "tiny-marigold-depth, 7, 9", "tiny-sd2-4ch, 6, 8", "tiny-geowizard, 6, 8"})
  void checkpointedUnetGivesTheOutputAndGradientsOfTheFullGraph(String checkpoint, int h, int w) {
    try (PointerScope scope = new PointerScope(); UNet2DConditionModel unet = trainableUnet(checkpoint)) {
      UNet2DConditionConfig c = unet.config();
      torch.manual_seed(11);
      Tensor sample = torch.randn(2, c.inChannels(), h, w);
      Tensor timestep = Tensors.fromLongs(new long[] {999, 999}, 2);
      Tensor context = torch.randn(2, 5, c.crossAttentionDim(0));
      Tensor labels = c.hasProjectionClassEmbedding() ? torch.randn(2, c.projectionClassEmbeddingsInputDim()) : null;
      Tensor weights = torch.randn(2, c.outChannels(), h, w);          // a loss that reaches every output value

      Tensor full = unet.forward(sample, timestep, context, labels, SegmentRunner.DIRECT);
      full.mul(weights).sum().backward();
      Map<String, Tensor> expected = takeGradients(unet);

      Tensor checkpointed;
      try (ActivationCheckpoint segments = new ActivationCheckpoint()) {
        Tensor out = unet.forward(sample, timestep, context, labels, segments);
        checkpointed = out.detach().clone();
        out.mul(weights).sum().backward();
        segments.backward();
      }
      Map<String, Tensor> actual = takeGradients(unet);

      double outDiff = Tensors.maxAbsDiff(checkpointed, full.detach());
      assertThat(outDiff).as("output: checkpointed vs full graph").isZero();
      assertThat(actual.keySet()).as("parameters with a gradient").isEqualTo(expected.keySet());
      double worst = 0;
      for (String k : expected.keySet()) {
        double scale = expected.get(k).abs().max().item_double();
        double d = Tensors.maxAbsDiff(actual.get(k), expected.get(k));
        worst = Math.max(worst, scale == 0 ? d : d / scale);
        assertThat(d).as(k + " gradient, max |checkpointed - full|").isLessThanOrEqualTo(GRAD_RTOL * scale);
      }
      System.out.printf("%s %dx%d: output diff %.1e, worst gradient diff %.2e of the tensor's max%n", checkpoint, h, w,
          outDiff, worst);
    }
  }

  @Test
  void reportsEachIntermediateActivationOnceAndTheSameAsThePlainForwardPass() {
    try (PointerScope scope = new PointerScope(); UNet2DConditionModel unet = trainableUnet("tiny-marigold-depth")) {
      torch.manual_seed(3);
      Tensor sample = torch.randn(1, 8, 6, 8);
      Tensor timestep = Tensors.fromLongs(new long[] {999}, 1);
      Tensor context = torch.randn(1, 5, 16);
      Map<String, Tensor> plain = new LinkedHashMap<>();
      try (NoGradGuard ng = new NoGradGuard(); var hook = unet.hook((n, t) -> plain.put(n, t.clone()))) {
        unet.forward(sample, timestep, context);
      }
      List<String> names = new java.util.ArrayList<>();
      // a reported value lives until its block's segment ends: compared here, in the hook
      try (ActivationCheckpoint checkpoint = new ActivationCheckpoint(); var hook = unet.hook((n, t) -> {
        names.add(n);
        assertThat(Tensors.maxAbsDiff(t, plain.get(n))).as(n).isZero();
      })) {
        Tensor out = unet.forward(sample, timestep, context, null, checkpoint);
        out.sum().backward();
        checkpoint.backward();                                          // recomputes every block without reporting
      }
      assertThat(names).as("names reported, in order").containsExactlyElementsOf(plain.keySet());
    }
  }

  @Test
  void underNoGradGuardRunsThePlainForwardPassAndBuildsNoGraph() {
    try (PointerScope scope = new PointerScope(); UNet2DConditionModel unet = trainableUnet("tiny-marigold-depth");
        ActivationCheckpoint checkpoint = new ActivationCheckpoint(); NoGradGuard ng = new NoGradGuard()) {
      torch.manual_seed(5);
      Tensor sample = torch.randn(1, 8, 6, 8);
      Tensor timestep = Tensors.fromLongs(new long[] {999}, 1);
      Tensor context = torch.randn(1, 5, 16);
      Tensor out = unet.forward(sample, timestep, context, null, checkpoint);
      assertThat(out.requires_grad()).isFalse();
      assertThat(Tensors.maxAbsDiff(out, unet.forward(sample, timestep, context))).isZero();
    }
  }

  @Test
  void rejectsASegmentInputComputedBetweenSegments() {
    Golden.fixtures();
    try (PointerScope scope = new PointerScope(); ActivationCheckpoint checkpoint = new ActivationCheckpoint()) {
      Tensor w = torch.randn(3).requires_grad_(true);
      Tensor y = checkpoint.run(List.of(torch.ones(3)), (in, report) -> List.of(in.get(0).mul(w))).get(0);
      Tensor outside = y.mul(torch.full(new long[] {1}, new org.bytedeco.pytorch.Scalar(2.0)));  // its gradient would be lost
      assertThatThrownBy(() -> checkpoint.run(List.of(outside), (in, report) -> List.of(in.get(0).mul(w))))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("earlier segment");
    }
  }

  @Test
  void sumsTheGradientsOfAValueUsedByLaterSegments() {
    Golden.fixtures();
    try (PointerScope scope = new PointerScope()) {
      Tensor x = Tensors.fromFloats(new float[] {1, 2, 3}, 3);
      Tensor w = Tensors.fromFloats(new float[] {0.5f, -1, 2}, 3).requires_grad_(true);
      // y = x * w is used by two later segments: z1 = y^2, z2 = 3 y; loss = sum(z1 + z2) => dL/dw = (2 y + 3) x
      try (ActivationCheckpoint checkpoint = new ActivationCheckpoint()) {
        Tensor y = checkpoint.run(List.of(x), (in, report) -> List.of(in.get(0).mul(w))).get(0);
        Tensor z1 = checkpoint.run(List.of(y), (in, report) -> List.of(in.get(0).mul(in.get(0)))).get(0);
        Tensor z2 = checkpoint.run(List.of(y), (in, report) -> List.of(in.get(0).mul(
            torch.full(new long[] {1}, new org.bytedeco.pytorch.Scalar(3.0))))).get(0);
        z1.add(z2).sum().backward();
        checkpoint.backward();
      }
      assertThat(Tensors.toFloats(w.grad())).containsExactly((2 * 0.5f + 3) * 1, (2 * -2f + 3) * 2, (2 * 6f + 3) * 3);
    }
  }

  @Test
  void keepsNativeMemoryFlatOverCheckpointedPassesInAScope() {
    try (UNet2DConditionModel unet = trainableUnet("tiny-marigold-depth")) {
      long[] pointers = new long[2];
      for (int i = 0; i < 12; i++) {
        try (PointerScope scope = new PointerScope(); ActivationCheckpoint checkpoint = new ActivationCheckpoint()) {
          torch.manual_seed(i);
          Tensor out = unet.forward(torch.randn(1, 8, 6, 8), Tensors.fromLongs(new long[] {999}, 1),
              torch.randn(1, 5, 16), null, checkpoint);
          out.sum().backward();
          checkpoint.backward();
        }
        if (i == 3) pointers[0] = Pointer.totalCount();
        if (i == 11) pointers[1] = Pointer.totalCount();
      }
      assertThat(pointers[1] - pointers[0]).as("JavaCPP pointers alive: pass 4 vs pass 12").isLessThanOrEqualTo(0);
    }
  }
}
