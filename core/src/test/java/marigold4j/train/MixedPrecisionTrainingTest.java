package marigold4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import marigold4j.nn.Parameter;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;
import marigold4j.pipeline.Precision;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * {@code --mixed-precision bf16} on the CPU: the UNet's forward pass runs under bf16 autocast while the master
 * weights, their gradients and AdamW's update stay float32 (as accelerate's mixed precision does). One optimizer step
 * of two accumulated micro-batches on the tiny depth checkpoint is compared with the same step in fp32. bf16 keeps 8
 * bits of mantissa (relative rounding 2^-9 per op), so the bounds are those of a reduced-precision forward pass, not
 * of float32: loss within 0.5 % (observed 0.01-0.07 %), gradients pointing the same way (cosine similarity above 0.99
 * overall; observed 0.997) with their norm within 5 % (observed 3.9 % lower). A step that silently ran fp32 would pass
 * these too, so the test also checks that bf16 actually ran: the losses must differ from fp32's.
 */
class MixedPrecisionTrainingTest {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(MixedPrecisionTrainingTest.class);
  static final double LR = 1e-4;

  private record Step(double[] losses, Tensor flatGrad, Map<String, Tensor> params, boolean masterFp32) {}

  private static Step oneStep(Precision precision) {
    Golden.load("training/depth_marigold_zeros_warmup0", "case");   // engine + 2 threads
    TrainOptions o = TrainOptions.defaults().withBatch(2, 2).withLearningRate(LR, 0, 100).withSeed(5);
    try (E2EFTModel model = E2EFTModel.load(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth"),
        Modality.DEPTH, NoiseType.ZEROS, precision); E2EFTTrainer trainer = new E2EFTTrainer(model, o)) {
      double[] losses = new double[2];
      for (int m = 0; m < 2; m++) {
        try (PointerScope scope = new PointerScope()) {
          losses[m] = trainer.microStep(FixtureBatches.batch(m), m, null).value();
        }
      }
      boolean[] fp32 = {true};
      java.util.List<Tensor> grads = new java.util.ArrayList<>();
      model.unet().namedParameters().forEach((k, p) -> {
        if (p.kind() != Parameter.Kind.PARAMETER) return;
        fp32[0] &= Tensors.dtype(p.get()) == torch.ScalarType.Float;
        fp32[0] &= Tensors.dtype(p.get().grad()) == torch.ScalarType.Float;
        grads.add(p.get().grad().reshape(-1));
      });
      Tensor flat = torch.cat(new org.bytedeco.pytorch.TensorVector(grads.toArray(new Tensor[0])), 0).clone();
      trainer.optimizerStep();
      Map<String, Tensor> params = new LinkedHashMap<>();
      model.unet().namedParameters().forEach((k, p) -> params.put(k, p.get().detach().clone()));
      flat.retainReference();
      params.values().forEach(Tensor::retainReference);
      return new Step(losses, flat, params, fp32[0]);
    }
  }

  @Test
  void bf16StepTracksTheFp32StepWithFloat32MasterWeights() {
    Step full = oneStep(Precision.FP32);
    Step mixed = oneStep(Precision.BF16);
    assertThat(mixed.masterFp32()).as("master weights and gradients stay float32").isTrue();
    for (int m = 0; m < 2; m++) {
      assertThat(Math.abs(mixed.losses()[m] - full.losses()[m]) / full.losses()[m]).as("loss, micro-batch " + m)
          .isLessThan(0.005);
      assertThat(mixed.losses()[m]).as("bf16 autocast actually ran").isNotEqualTo(full.losses()[m]);
    }
    double dot = mixed.flatGrad().mul(full.flatGrad()).sum().item_double();
    double nMixed = mixed.flatGrad().norm().item_double();
    double nFull = full.flatGrad().norm().item_double();
    LOG.info("bf16 vs fp32: losses {} vs {}, gradient cosine {}, norm {} vs {}",
        java.util.Arrays.toString(mixed.losses()), java.util.Arrays.toString(full.losses()),
        dot / (nMixed * nFull), nMixed, nFull);
    assertThat(dot / (nMixed * nFull)).as("gradient cosine similarity").isGreaterThan(0.99);
    assertThat(Math.abs(nMixed - nFull) / nFull).as("gradient norm").isLessThan(0.05);
    for (Map.Entry<String, Tensor> e : mixed.params().entrySet()) {
      Tensor p = e.getValue();
      assertThat(Tensors.dtype(p)).as(e.getKey()).isIn(torch.ScalarType.Float, torch.ScalarType.Long);
      if (p.is_floating_point()) {
        assertThat(torch.isfinite(p).all().item_bool()).as(e.getKey() + " finite").isTrue();
        // Adam moves every entry by at most about lr (plus weight decay) in either precision
        assertThat(p.sub(full.params().get(e.getKey())).abs().max().item_double()).as(e.getKey())
            .isLessThanOrEqualTo(2.05 * LR);
      }
    }
  }
}
