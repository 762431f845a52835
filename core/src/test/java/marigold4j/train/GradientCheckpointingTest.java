package marigold4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import marigold4j.nn.Parameter;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;
import marigold4j.pipeline.Precision;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code --gradient-checkpointing} changes memory, not results: one optimizer step (two accumulated micro-batches of
 * the fixture batches) on the tiny checkpoints with and without it. Losses are expected bit for bit (the forward pass
 * runs the same kernels); every gradient entry within 1e-6 of the model's largest gradient entry (float32
 * reassociation: autograd sums the contributions of the time embedding and of the skip connections in another
 * order). The bound is global, not per tensor, because a few tensors have gradients at the cancellation level (the
 * {@code norm2} before the cross-attention to the constant empty prompt: about 1e-4 of the largest gradient), where
 * the same absolute noise is several 1e-6 of their own size; a missing gradient contribution would still exceed it
 * by orders of magnitude. The parameters after AdamW within 5 % of one learning-rate step, the bound the golden
 * training test uses too: Adam's first update is lr * g / (|g| + eps), so an entry whose gradient is within the
 * noise of eps = 1e-8 moves by a visible fraction of lr (observed: up to 1.4 % of lr; most entries agree to an ulp).
 */
class GradientCheckpointingTest {
  static final double GRAD_RTOL = 1e-6;
  static final double LR = 1e-4;
  static final double PARAM_ATOL = 0.05 * LR;

  @TempDir Path tmp;

  private static E2EFTModel load(String checkpoint, Modality modality, NoiseType noise) {
    Golden.load("training/depth_marigold_zeros_warmup0", "case");   // engine + 2 threads
    return E2EFTModel.load(Golden.fixtures().resolve("checkpoints/" + checkpoint), modality, noise, Precision.FP32);
  }

  private record Step(double[] losses, Map<String, Tensor> gradients, E2EFTTrainer.StepResult result,
      Map<String, Tensor> parameters) {}

  private static Step oneStep(String checkpoint, Modality modality, NoiseType noise, boolean checkpointing) {
    TrainOptions o = TrainOptions.defaults().withBatch(2, 2).withLearningRate(LR, 0, 100).withSeed(5)
        .withGradientCheckpointing(checkpointing);
    try (E2EFTModel model = load(checkpoint, modality, noise); E2EFTTrainer trainer = new E2EFTTrainer(model, o)) {
      double[] losses = new double[2];
      for (int m = 0; m < 2; m++) {
        try (PointerScope scope = new PointerScope()) {
          losses[m] = trainer.microStep(FixtureBatches.batch(m), m, null).value();
        }
      }
      Map<String, Tensor> grads = new LinkedHashMap<>();
      model.unet().namedParameters().forEach((k, p) -> {
        if (p.kind() == Parameter.Kind.PARAMETER) grads.put(k, p.get().grad().clone());
      });
      E2EFTTrainer.StepResult r = trainer.optimizerStep();
      Map<String, Tensor> params = new LinkedHashMap<>();
      model.unet().namedParameters().forEach((k, p) -> params.put(k, p.get().detach().clone()));
      grads.values().forEach(Tensor::retainReference);
      params.values().forEach(Tensor::retainReference);
      return new Step(losses, grads, r, params);
    }
  }

  @ParameterizedTest(name = "{0} {1} noise {2}")
  @CsvSource({"tiny-marigold-depth, depth, gaussian", "tiny-marigold-normals, normals, zeros",
      "tiny-sd2-4ch, depth, zeros"})
  void oneTrainingStepWithCheckpointingMatchesTheFullGraph(String checkpoint, String modality, String noise) {
    Modality mod = Modality.parse(modality);
    NoiseType nt = NoiseType.parse(noise);
    Step full = oneStep(checkpoint, mod, nt, false);
    Step ckpt = oneStep(checkpoint, mod, nt, true);

    assertThat(ckpt.losses()).as("micro-batch losses").containsExactly(full.losses());
    assertThat(ckpt.gradients().keySet()).isEqualTo(full.gradients().keySet());
    double largest = 0;
    for (Tensor g : full.gradients().values()) largest = Math.max(largest, g.abs().max().item_double());
    double worstGrad = 0;
    double worstOwn = 0;
    String worstOwnName = "";
    for (String k : full.gradients().keySet()) {
      Tensor want = full.gradients().get(k);
      double d = Tensors.maxAbsDiff(ckpt.gradients().get(k), want);
      worstGrad = Math.max(worstGrad, d / largest);
      double own = d / want.abs().max().item_double();
      if (own > worstOwn) {
        worstOwn = own;
        worstOwnName = k;
      }
      assertThat(d).as(k + " gradient: max |checkpointed - full|").isLessThanOrEqualTo(GRAD_RTOL * largest);
    }
    double normFull = full.result().gradNormPreClip();
    assertThat(Math.abs(ckpt.result().gradNormPreClip() - normFull)).as("pre-clip gradient norm")
        .isLessThanOrEqualTo(GRAD_RTOL * normFull);
    double worstParam = 0;
    for (String k : full.parameters().keySet()) {
      double d = Tensors.maxAbsDiff(ckpt.parameters().get(k), full.parameters().get(k));
      worstParam = Math.max(worstParam, d);
      assertThat(d).as(k + " after AdamW: max |checkpointed - full|").isLessThanOrEqualTo(PARAM_ATOL);
    }
    System.out.printf("%s: losses %s vs %s; worst gradient diff %.2e of the largest gradient (%.2e of its own "
        + "tensor's largest, %s); grad norm %.9g vs %.9g; worst parameter diff %.2e (lr %.0e)%n", checkpoint,
        java.util.Arrays.toString(ckpt.losses()), java.util.Arrays.toString(full.losses()), worstGrad, worstOwn,
        worstOwnName, ckpt.result().gradNormPreClip(), normFull, worstParam, LR);
    for (Step s : new Step[] {full, ckpt}) {
      s.gradients().values().forEach(Tensor::releaseReference);
      s.parameters().values().forEach(Tensor::releaseReference);
    }
  }

  @Test
  void checkpointedTrainingKeepsNativeMemoryFlat() {
    TrainOptions o = TrainOptions.defaults().withBatch(2, 1).withLearningRate(1e-4, 0, 100).withMaxTrainSteps(9)
        .withCheckpointing(1000, 0).withGradientCheckpointing(true);
    long[] pointers = new long[2];
    try (E2EFTModel model = load("tiny-marigold-depth", Modality.DEPTH, NoiseType.ZEROS);
        E2EFTTrainer trainer = new E2EFTTrainer(model, o)) {
      trainer.train(FixtureBatches.twoBatches(), tmp, r -> {
        if (r.step() == 3) pointers[0] = Pointer.totalCount();
        if (r.step() == 8) pointers[1] = Pointer.totalCount();
      });
    }
    assertThat(pointers[1] - pointers[0]).as("JavaCPP pointers alive: step 4 vs step 9").isLessThanOrEqualTo(0);
  }
}
