package marigold4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import marigold4j.pipeline.MarigoldPipeline;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;
import marigold4j.pipeline.Precision;
import marigold4j.testing.Golden;
import marigold4j.testing.TestFiles;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training loop on the tiny fixture checkpoint and the fixture micro-batches. */
class E2EFTTrainerTest {
  static final Path DEPTH = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth");

  @TempDir Path tmp;

  private static E2EFTModel depthModel(NoiseType noise) {
    Golden.load("training/depth_marigold_zeros_warmup0", "case");   // engine + 2 threads
    return E2EFTModel.load(DEPTH, Modality.DEPTH, noise, Precision.FP32);
  }

  private static double lossOn(E2EFTModel model, int batch) {
    try (NoGradGuard ng = new NoGradGuard(); PointerScope s = new PointerScope()) {
      return model.forward(FixtureBatches.batch(batch), null, null).value();
    }
  }

  @Test
  void lowersTheLossOfATinyModelOver50StepsWithFlatNativeMemory() {
    TrainOptions o = TrainOptions.defaults().withBatch(2, 1).withLearningRate(1e-3, 0, 1000).withMaxTrainSteps(50)
        .withCheckpointing(1000, 0);
    try (E2EFTModel model = depthModel(NoiseType.ZEROS); E2EFTTrainer trainer = new E2EFTTrainer(model, o)) {
      double before = (lossOn(model, 0) + lossOn(model, 1)) / 2;
      List<Long> pointers = new ArrayList<>();
      List<Double> losses = new ArrayList<>();
      trainer.train(FixtureBatches.twoBatches(), tmp, r -> {
        losses.add(r.loss());
        if (r.step() == 9 || r.step() == 49) pointers.add(Pointer.totalCount());
      });
      double after = (lossOn(model, 0) + lossOn(model, 1)) / 2;
      System.out.printf("loss on batches 0-1: %.4f -> %.4f; logged %s ... %s%n", before, after, losses.subList(0, 3),
          losses.subList(47, 50));
      assertThat(after).as("loss after 50 steps vs before").isLessThan(0.7 * before);
      assertThat(MetricsLog.read(tmp.resolve(MetricsLog.DEFAULT_FILE))).hasSize(50);
      assertThat(pointers.get(1) - pointers.get(0)).as("JavaCPP pointers alive: step 10 vs step 50").isLessThanOrEqualTo(0);
    }
  }

  @Test
  void resumingFromACheckpointGivesTheParametersOfAnUninterruptedRun() throws Exception {
    TrainOptions o = TrainOptions.defaults().withBatch(2, 2).withLearningRate(1e-4, 2, 100).withMaxTrainSteps(4)
        .withCheckpointing(2, 0).withSeed(7);
    Path full = tmp.resolve("full");
    Map<String, float[]> uninterrupted;
    try (E2EFTModel model = depthModel(NoiseType.GAUSSIAN); E2EFTTrainer trainer = new E2EFTTrainer(model, o)) {
      trainer.train(new FixtureBatches(), full, null);
      uninterrupted = ParameterSnapshot.of(model);
    }
    assertThat(TrainingCheckpoints.list(full)).extracting(p -> p.getFileName().toString())
        .containsExactly("checkpoint-2", "checkpoint-4");

    Path resumed = tmp.resolve("resumed");
    Files.createDirectories(resumed);
    TestFiles.copyTree(full.resolve("checkpoint-2"), resumed.resolve("checkpoint-2"));
    try (E2EFTModel model = depthModel(NoiseType.GAUSSIAN); E2EFTTrainer trainer = new E2EFTTrainer(model, o)) {
      Path ckpt = TrainingCheckpoints.resolve(resumed, "latest").orElseThrow();
      FixtureBatches data = new FixtureBatches();
      trainer.restore(TrainingCheckpoints.readState(ckpt), ckpt, data);
      assertThat(trainer.globalStep()).isEqualTo(2);
      assertThat(data.position()).isEqualTo(4);
      trainer.train(data, resumed, null);
      Map<String, float[]> continued = ParameterSnapshot.of(model);
      assertThat(continued.keySet()).isEqualTo(uninterrupted.keySet());
      for (String k : continued.keySet()) {
        assertThat(continued.get(k)).as(k + " after resume vs uninterrupted").containsExactly(uninterrupted.get(k));
      }
    }
  }

  @Test
  void dropsANanLossAndSkipsANonFiniteGradientWithoutTouchingTheWeights() {
    TrainOptions o = TrainOptions.defaults().withBatch(2, 1).withLearningRate(1e-3, 0, 100).withMaxTrainSteps(10);
    try (E2EFTModel model = depthModel(NoiseType.ZEROS); E2EFTTrainer trainer = new E2EFTTrainer(model, o);
        PointerScope scope = new PointerScope()) {
      Map<String, float[]> before = ParameterSnapshot.of(model);
      TrainingBatch good = FixtureBatches.batch(0);
      // an all-invalid mask: the original's val_mask.any() branch is not taken, loss 0, nothing back-propagated
      TrainingBatch noValid = new TrainingBatch(good.rgb(), torch.zeros_like(good.valMask()), good.metricDepth(), null);
      // NaN in the target: the SSI loss is NaN and is dropped
      TrainingBatch nanTarget = new TrainingBatch(good.rgb(), good.valMask(),
          good.metricDepth().mul(torch.full(new long[] {1}, new org.bytedeco.pytorch.Scalar(Double.NaN))), null);
      for (TrainingBatch bad : List.of(noValid, nanTarget)) {
        E2EFTModel.Loss loss = trainer.microStep(bad, 0, null);
        assertThat(loss.dropped()).isTrue();
        assertThat(loss.value()).isZero();
        E2EFTTrainer.StepResult r = trainer.optimizerStep();
        assertThat(r.droppedMicroBatches()).isEqualTo(1);
        assertThat(r.gradNormPreClip()).isZero();
      }
      // a gradient that went non-finite: the update is skipped and the gradients cleared
      trainer.microStep(good, 0, null);
      Tensor p0 = model.trainableParameters().get(0);
      p0.grad().fill_(new org.bytedeco.pytorch.Scalar(Double.NaN));
      E2EFTTrainer.StepResult r = trainer.optimizerStep();
      assertThat(r.skipped()).isTrue();
      assertThat(p0.grad().defined()).isFalse();

      Map<String, float[]> after = ParameterSnapshot.of(model);
      for (String k : before.keySet()) assertThat(after.get(k)).as(k).containsExactly(before.get(k));
      // and training goes on normally afterwards
      trainer.microStep(good, 0, null);
      assertThat(trainer.optimizerStep().skipped()).isFalse();
      assertThat(ParameterSnapshot.of(model).get("conv_out.bias")).isNotEqualTo(before.get("conv_out.bias"));
    }
  }

  @Test
  void keepsOnlyTheNewestCheckpointsAndLeavesNoTemporaryFolder() throws Exception {
    TrainOptions o = TrainOptions.defaults().withBatch(2, 1).withLearningRate(1e-4, 0, 100).withMaxTrainSteps(3)
        .withCheckpointing(1, 2);
    try (E2EFTModel model = depthModel(NoiseType.ZEROS); E2EFTTrainer trainer = new E2EFTTrainer(model, o)) {
      trainer.train(new FixtureBatches(), tmp, null);
    }
    try (var s = Files.list(tmp)) {
      assertThat(s.map(p -> p.getFileName().toString()).sorted().toList())
          .containsExactly("checkpoint-2", "checkpoint-3", "logs");
    }
    Path c3 = tmp.resolve("checkpoint-3");
    assertThat(c3.resolve("unet/config.json")).exists();
    assertThat(c3.resolve("unet/diffusion_pytorch_model.safetensors")).exists();
    assertThat(c3.resolve("optimizer.pt")).exists();
    TrainingCheckpoints.State st = TrainingCheckpoints.readState(c3);
    assertThat(st.globalStep()).isEqualTo(3);
    assertThat(st.dataPosition()).isEqualTo(3);
  }

  @Test
  void exportsAPipelineFolderLikeTrainPyThatMarigoldPipelineLoads() throws Exception {
    Path expected = Golden.fixtures().resolve("training/depth_sd2_4ch_replace_conv_in/train_output");
    Path base = Golden.fixtures().resolve("checkpoints/tiny-sd2-4ch");
    Golden.load("training/depth_sd2_4ch_replace_conv_in", "case");
    try (E2EFTModel model = E2EFTModel.load(base, Modality.DEPTH, NoiseType.ZEROS, Precision.FP32)) {
      PipelineExport.write(base, tmp, model, "checkpoints/tiny-sd2-4ch");
    }
    for (String f : List.of("model_index.json", "scheduler/scheduler_config.json", "unet/config.json")) {
      JsonNode want = Golden.readJson(expected.resolve(f));
      JsonNode got = Golden.readJson(tmp.resolve(f));
      assertThat(got).as(f).isEqualTo(want);
      assertThat(fieldNames(got)).as(f + " key order").isEqualTo(fieldNames(want));
    }
    try (MarigoldPipeline p = MarigoldPipeline.load(tmp)) {
      assertThat(p.checkpoint()).isEqualTo(tmp);
    }
  }

  private static List<String> fieldNames(JsonNode n) {
    List<String> out = new ArrayList<>();
    ((ObjectNode) n).fieldNames().forEachRemaining(out::add);
    return out;
  }

}
