package marigold4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import marigold4j.image.ImageInput;
import marigold4j.image.PilImage;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.pipeline.GeoWizardOptions;
import marigold4j.pipeline.GeoWizardPipeline;
import marigold4j.pipeline.GeoWizardPrediction;
import marigold4j.pipeline.NoiseType;
import marigold4j.pipeline.Precision;
import marigold4j.testing.Golden;
import marigold4j.testing.TestFiles;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import marigold4j.train.data.LoaderDraws;
import marigold4j.weights.SafeTensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GeoWizard E2E-FT on the tiny GeoWizard fixture checkpoint and the recorded 48 x 64 training micro-batches. The
 * original has no recorded GeoWizard training run, so each behaviour is checked against an independent computation.
 */
class GeoWizardE2EFTTrainerTest {
  static final Path BASE = Golden.fixtures().resolve("checkpoints/tiny-geowizard");

  @TempDir Path tmp;

  private static GeoWizardE2EFTModel model(NoiseType noise) {
    Golden.load("training/depth_marigold_zeros_warmup0", "case");   // engine + 2 threads
    return GeoWizardE2EFTModel.load(BASE, noise, Precision.FP32);
  }

  /**
   * Fixture micro-batch k with a domain, and with a block of 32 x 32 valid pixels: the recorded masks leave out
   * pixels scattered everywhere, so no 8 x 8 latent cell is whole and GeoWizard's latent mask would drop every
   * recorded batch (see {@link #aRecordedBatchWithoutAWholeLatentCellIsDroppedAsTheOriginalsLatentMaskDropsIt}).
   */
  private static TrainingBatch batch(int k, Domain domain) {
    TrainingBatch f = FixtureBatches.batch(k);
    Tensor mask = f.valMask().clone();                                                   // (2, 1, 48, 64)
    mask.narrow(2, 8, 32).narrow(3, 16, 32).fill_(F.s(1));
    return new TrainingBatch(f.rgb(), mask, f.metricDepth(), f.normals(), domain, List.of());
  }

  private static double lossOn(E2EFTTrainable model, int k) {
    try (NoGradGuard ng = new NoGradGuard(); PointerScope s = new PointerScope()) {
      return model.forward(batch(k, Domain.INDOOR), null, null).value();
    }
  }

  @Test
  void jointLossIsHalfTheSsiLossPlusTheAngularLossAgainstTheNegatedNormals() {
    try (GeoWizardE2EFTModel model = model(NoiseType.ZEROS); NoGradGuard ng = new NoGradGuard();
        PointerScope s = new PointerScope()) {
      TrainingBatch b = batch(0, Domain.INDOOR);
      Map<String, Tensor> tap = new HashMap<>();
      E2EFTModel.Loss loss = model.forward(b, null, tap::put);
      assertThat(loss.dropped()).isFalse();

      // post-processing of the decoded [depth, normal] halves, recomputed from the decoder output
      Tensor decoded = tap.get("decoded");                                                   // (4, 3, 48, 64)
      assertThat(Tensors.shape(decoded)).containsExactly(4, 3, 48, 64);
      Tensor depth = F.clamp(decoded.narrow(0, 0, 2).mean(new long[] {1}, true, new ScalarTypeOptional()), -1, 1);
      Tensor nd = decoded.narrow(0, 2, 2);
      Tensor normals = F.clamp(nd.div(nd.norm(new ScalarOptional(F.s(2)), new long[] {1}, true).add(F.s(1e-5))), -1, 1);
      assertThat(Tensors.maxAbsDiff(depth, tap.get("depth_prediction"))).isZero();
      assertThat(Tensors.maxAbsDiff(normals, tap.get("normal_prediction"))).isZero();

      // the loss from the single-task E2E-FT losses, computed separately
      double ssi = Losses.scaleAndShiftInvariant(depth, b.metricDepth(), b.valMask()).item_double();
      double angular = Losses.angular(normals, b.normals().neg(), b.valMask()).item_double();
      double angularUnflipped = Losses.angular(normals, b.normals(), b.valMask()).item_double();
      System.out.printf("ssi %.6f angular %.6f (against unflipped normals %.6f) loss %.6f%n", ssi, angular,
          angularUnflipped, loss.value());
      // tolerance: float32 rounding of the weighted sum (values about 1)
      assertThat(loss.value()).isCloseTo(0.5 * ssi + angular, org.assertj.core.data.Offset.offset(1e-6));
      assertThat(loss.terms()).containsOnlyKeys("ssi", "normals_angular");
      assertThat(loss.terms().get("ssi")).isEqualTo(ssi);
      assertThat(loss.terms().get("normals_angular")).isEqualTo(angular);
      assertThat(Math.abs(angular - angularUnflipped)).as("the normals target is negated").isGreaterThan(1e-3);
    }
  }

  @Test
  void aNanTermIsLeftOutOfTheJointLossAndBothNanDropTheBatch() {
    try (PointerScope s = new PointerScope()) {
      Golden.load("training/depth_marigold_zeros_warmup0", "case");
      TrainingBatch b = batch(1, Domain.INDOOR);
      Tensor depth = torch.rand(new long[] {2, 1, 48, 64}).mul(F.s(2)).sub(F.s(1));
      Tensor n = torch.randn(new long[] {2, 3, 48, 64});
      Tensor normals = n.div(n.norm(new ScalarOptional(F.s(2)), new long[] {1}, true));
      Tensor nan = torch.full(new long[] {1}, F.s(Double.NaN));
      double ssi = Losses.scaleAndShiftInvariant(depth, b.metricDepth(), b.valMask()).item_double();
      double angular = Losses.angular(normals, b.normals().neg(), b.valMask()).item_double();

      Losses.Joint both = Losses.geoWizard(depth, normals, b.metricDepth(), b.normals(), b.valMask());
      assertThat(both.loss().item_double()).isCloseTo(0.5 * ssi + angular, org.assertj.core.data.Offset.offset(1e-6));
      Losses.Joint noDepth = Losses.geoWizard(depth, normals, b.metricDepth().mul(nan), b.normals(), b.valMask());
      assertThat(Double.isNaN(noDepth.ssi())).isTrue();
      assertThat(noDepth.loss().item_double()).isEqualTo(angular);
      Losses.Joint noNormals = Losses.geoWizard(depth, normals, b.metricDepth(), b.normals().mul(nan), b.valMask());
      assertThat(noNormals.loss().item_double()).isCloseTo(0.5 * ssi, org.assertj.core.data.Offset.offset(1e-7));
      Losses.Joint none = Losses.geoWizard(depth, normals, b.metricDepth(), b.normals(), torch.zeros_like(b.valMask()));
      assertThat(none.loss()).isNull();
    }
  }

  @Test
  void aRecordedBatchWithoutAWholeLatentCellIsDroppedAsTheOriginalsLatentMaskDropsIt() {
    try (GeoWizardE2EFTModel model = model(NoiseType.ZEROS); NoGradGuard ng = new NoGradGuard();
        PointerScope s = new PointerScope()) {
      // about 83 % of the pixels are valid, but every 8 x 8 cell misses some: val_mask.any() holds, the original's
      // latent_mask.any() (~max_pool2d(~val_mask, 8, 8)) does not
      TrainingBatch recorded = FixtureBatches.batch(0).withDomain(Domain.INDOOR);
      assertThat(recorded.valMask().any().item_bool()).isTrue();
      assertThat(model.forward(recorded, null, null).dropped()).isTrue();
      // one whole cell (rows 40-47, columns 56-63 of the second image) is enough
      Tensor mask = recorded.valMask().clone();
      mask.narrow(0, 1, 1).narrow(2, 40, 8).narrow(3, 56, 8).fill_(F.s(1));
      TrainingBatch oneCell = new TrainingBatch(recorded.rgb(), mask, recorded.metricDepth(), recorded.normals(),
          Domain.INDOOR, List.of());
      assertThat(model.forward(oneCell, null, null).dropped()).isFalse();
      // a cell straddling the 8-pixel grid is not one
      Tensor shifted = recorded.valMask().clone();
      shifted.narrow(2, 36, 8).narrow(3, 52, 8).fill_(F.s(1));
      TrainingBatch offGrid = new TrainingBatch(recorded.rgb(), shifted, recorded.metricDepth(), recorded.normals(),
          Domain.INDOOR, List.of());
      assertThat(model.forward(offGrid, null, null).dropped()).isTrue();
    }
  }

  @Test
  void theDomainSelectsTheClassLabelsAndAnyOtherDomainIsRefused() {
    try (GeoWizardE2EFTModel model = model(NoiseType.ZEROS); NoGradGuard ng = new NoGradGuard();
        PointerScope s = new PointerScope()) {
      Map<String, Tensor> indoor = new HashMap<>();
      assertThat(Tensors.shape(batch(2, Domain.INDOOR).valMask())).containsExactly(2, 1, 48, 64);
      Map<String, Tensor> outdoor = new HashMap<>();
      double li = model.forward(batch(2, Domain.INDOOR), null, indoor::put).value();
      double lo = model.forward(batch(2, Domain.OUTDOOR), null, outdoor::put).value();
      // rows: depth x 2 then normals x 2; geo one-hot [0,1] / [1,0], domain one-hot, each as sin then cos
      float s1 = (float) Math.sin(1);
      float[] labels = Tensors.toFloats(outdoor.get("class_labels"));
      assertThat(Tensors.shape(outdoor.get("class_labels"))).containsExactly(4, 10);
      float[] depthRow = java.util.Arrays.copyOfRange(labels, 0, 10);
      float[] normalRow = java.util.Arrays.copyOfRange(labels, 20, 30);
      assertThat(depthRow[0]).isZero();
      assertThat(depthRow[1]).isEqualTo(s1);
      assertThat(normalRow[0]).isEqualTo(s1);
      assertThat(normalRow[1]).isZero();
      assertThat(depthRow[4]).as("sin(outdoor one-hot)[0]").isZero();
      assertThat(depthRow[5]).as("sin(outdoor one-hot)[1]").isEqualTo(s1);
      assertThat(java.util.Arrays.copyOfRange(labels, 10, 20)).containsExactly(depthRow);
      assertThat(Tensors.toFloats(indoor.get("class_labels"))[4]).isEqualTo(s1);
      assertThat(li).isNotEqualTo(lo);
      // the CLIP embedding of each image conditions both of its rows
      Tensor ehs = indoor.get("encoder_hidden_states");                                     // (4, 1, D)
      assertThat(Tensors.maxAbsDiff(ehs.narrow(0, 0, 2), ehs.narrow(0, 2, 2))).isZero();
      assertThat(Tensors.maxAbsDiff(ehs.narrow(0, 0, 1), ehs.narrow(0, 1, 1))).isPositive();
      assertThatThrownBy(() -> model.forward(batch(2, Domain.OBJECT), null, null))
          .hasMessageContaining("indoor or outdoor");
      assertThatThrownBy(() -> model.forward(batch(2, null), null, null)).hasMessageContaining("domain");
    }
  }

  @Test
  void oneStepChangesTheUNetWithTheClassEmbeddingAtTenTimesTheLearningRate() {
    double lr = 1e-4;
    TrainOptions o = TrainOptions.defaults().withBatch(2, 1).withLearningRate(lr, 0, 100).withMaxTrainSteps(1);
    try (GeoWizardE2EFTModel model = model(NoiseType.ZEROS); E2EFTTrainer trainer = new E2EFTTrainer(model, o);
        PointerScope s = new PointerScope()) {
      Map<String, float[]> before = ParameterSnapshot.of(model);
      E2EFTModel.Loss loss = trainer.microStep(batch(0, Domain.INDOOR), 0, null);
      E2EFTTrainer.StepResult r = trainer.optimizerStep();
      assertThat(loss.value()).isFinite().isPositive();
      assertThat(r.lr()).isEqualTo(lr);
      assertThat(r.lossTerms()).containsOnlyKeys("ssi", "normals_angular");
      Map<String, float[]> after = ParameterSnapshot.of(model);
      // AdamW's first step moves each weight by lr * g / (|g| + eps) (+ lr * wd * w): at most about the group's lr
      double maxUnet = 0;
      double maxClass = 0;
      int changed = 0;
      for (String k : before.keySet()) {
        float[] a = before.get(k);
        float[] b = after.get(k);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(b[i] - a[i]));
        if (m > 0) changed++;
        if (k.contains("class_embedding")) maxClass = Math.max(maxClass, m); else maxUnet = Math.max(maxUnet, m);
      }
      System.out.printf("loss %.5f, %d of %d tensors changed, max |dw| %.3g (unet), %.3g (class embedding)%n",
          loss.value(), changed, before.size(), maxUnet, maxClass);
      assertThat(changed).isGreaterThan(before.size() * 9 / 10);
      assertThat(maxUnet).isBetween(0.9 * lr, 1.1 * lr);
      assertThat(maxClass).isBetween(9 * lr, 11 * lr);
    }
  }

  @Test
  void lowersTheJointLossOver30StepsAndLogsBothTerms() throws Exception {
    TrainOptions o = TrainOptions.defaults().withBatch(2, 1).withLearningRate(1e-3, 0, 1000).withMaxTrainSteps(30)
        .withCheckpointing(1000, 0);
    try (GeoWizardE2EFTModel model = model(NoiseType.ZEROS); E2EFTTrainer trainer = new E2EFTTrainer(model, o)) {
      double before = (lossOn(model, 0) + lossOn(model, 1)) / 2;
      List<Double> losses = new ArrayList<>();
      trainer.train(twoIndoorBatches(), tmp, r -> losses.add(r.loss()));
      double after = (lossOn(model, 0) + lossOn(model, 1)) / 2;
      System.out.printf("joint loss on batches 0-1: %.4f -> %.4f; logged %s ... %s%n", before, after,
          losses.subList(0, 3), losses.subList(27, 30));
      // the tiny random-weight VAE limits how far the joint loss can fall (after 30 steps it is near 0.7 of its start, after 40 near 0.68)
      assertThat(after).as("loss after 30 steps vs before").isLessThan(0.75 * before);
      double first = losses.subList(0, 5).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
      double last = losses.subList(25, 30).stream().mapToDouble(Double::doubleValue).average().orElseThrow();
      assertThat(last).as("mean logged loss of the last 5 steps vs the first 5").isLessThan(0.8 * first);
      List<String> lines = Files.readAllLines(tmp.resolve(MetricsLog.DEFAULT_FILE));
      assertThat(lines).hasSize(30);
      assertThat(lines.get(29)).contains("\"ssi_loss\"").contains("\"normals_angular_loss\"");
    }
  }

  /** Fixture batches 0 and 1 alternately, as indoor (Hypersim) batches. */
  static FixtureBatches twoIndoorBatches() {
    return new FixtureBatches(k -> batch((int) (k % 2), Domain.INDOOR));
  }

  /**
   * The fixture batches as a loader would give them: three per epoch, the last outdoor, with the original loaders'
   * process-wide draws (epoch start, sampler seeds, flips) for the noise streams to replay.
   */
  static FixtureBatches loaderLikeBatches() {
    return new FixtureBatches(k -> {
      int inEpoch = (int) (k % 3);
      List<LoaderDraws> draws = List.of(new LoaderDraws(inEpoch == 0 ? 2 : 0, inEpoch == 0 ? 3 : 0,
          inEpoch != 1, 2, true, 0.5));
      TrainingBatch b = batch((int) (k % FixtureBatches.count()), inEpoch == 2 ? Domain.OUTDOOR : Domain.INDOOR);
      return new TrainingBatch(b.rgb(), b.valMask(), b.metricDepth(), b.normals(), b.domain(), draws);
    });
  }

  @Test
  void resumingFromACheckpointGivesTheParametersOfAnUninterruptedRunWithPyramidNoise() throws Exception {
    TrainOptions o = TrainOptions.defaults().withBatch(2, 2).withLearningRate(1e-4, 1, 100).withMaxTrainSteps(4)
        .withCheckpointing(2, 0).withSeed(11);
    Path full = tmp.resolve("full");
    Map<String, float[]> uninterrupted;
    try (GeoWizardE2EFTModel model = model(NoiseType.PYRAMID); E2EFTTrainer trainer = new E2EFTTrainer(model, o)) {
      trainer.train(loaderLikeBatches(), full, null);
      uninterrupted = ParameterSnapshot.of(model);
    }
    Path resumed = tmp.resolve("resumed");
    TestFiles.copyTree(full.resolve("checkpoint-2"), resumed.resolve("checkpoint-2"));
    assertThat(resumed.resolve("checkpoint-2/random_states.json")).exists();
    try (GeoWizardE2EFTModel model = model(NoiseType.PYRAMID); E2EFTTrainer trainer = new E2EFTTrainer(model, o)) {
      Path ckpt = TrainingCheckpoints.resolve(resumed, "latest").orElseThrow();
      FixtureBatches data = loaderLikeBatches();
      trainer.restore(TrainingCheckpoints.readState(ckpt), ckpt, data);
      assertThat(trainer.globalStep()).isEqualTo(2);
      assertThat(data.position()).isEqualTo(4);
      trainer.train(data, resumed, null);
      Map<String, float[]> continued = ParameterSnapshot.of(model);
      for (String k : continued.keySet()) {
        assertThat(continued.get(k)).as(k + " after resume vs uninterrupted").containsExactly(uninterrupted.get(k));
      }
    }
    // and the noise matters: a run with another seed ends elsewhere
    try (GeoWizardE2EFTModel model = model(NoiseType.PYRAMID);
        E2EFTTrainer trainer = new E2EFTTrainer(model, o.withSeed(12))) {
      trainer.train(loaderLikeBatches(), tmp.resolve("other"), null);
      assertThat(ParameterSnapshot.of(model).get("conv_out.bias")).isNotEqualTo(uninterrupted.get("conv_out.bias"));
    }
  }

  @Test
  void theExportedPipelineLoadsInGeoWizardPipelineAndPredictsWithTheTrainedWeights() throws Exception {
    TrainOptions o = TrainOptions.defaults().withBatch(2, 1).withLearningRate(1e-3, 0, 100).withMaxTrainSteps(2)
        .withCheckpointing(1000, 0);
    Path out = tmp.resolve("export");
    Map<String, float[]> trained;
    try (GeoWizardE2EFTModel model = model(NoiseType.ZEROS); E2EFTTrainer trainer = new E2EFTTrainer(model, o)) {
      trainer.train(twoIndoorBatches(), out, null);
      trained = ParameterSnapshot.of(model);
      model.exportPipeline(BASE, out, "checkpoints/tiny-geowizard");
    }
    JsonNode index = Golden.readJson(out.resolve("model_index.json"));
    assertThat(index.path("_class_name").asText()).isEqualTo("DepthNormalEstimationPipeline");
    assertThat(index.path("scheduler").toString()).isEqualTo("[\"diffusers\",\"DDPMScheduler\"]");
    assertThat(index.path("image_encoder").toString()).contains("CLIPVisionModelWithProjection");
    JsonNode sched = Golden.readJson(out.resolve("scheduler/scheduler_config.json"));
    assertThat(sched.path("timestep_spacing").asText()).isEqualTo("trailing");
    assertThat(sched.path("_class_name").asText()).isEqualTo("DDPMScheduler");
    Map<String, Tensor> saved = SafeTensors.load(out.resolve("unet/diffusion_pytorch_model.safetensors"));
    assertThat(saved.keySet()).isEqualTo(trained.keySet());
    for (String k : trained.keySet()) assertThat(Tensors.toFloats(saved.get(k))).as(k).containsExactly(trained.get(k));

    PilImage image = ImageInput.read(Golden.fixtures().resolve("images/photo_living_room_112x68.png"));
    GeoWizardOptions options = GeoWizardOptions.defaults(Domain.INDOOR).withProcessingRes(64);
    float[] depthTrained;
    float[] depthBase;
    try (GeoWizardPipeline pipe = GeoWizardPipeline.load(out)) {
      GeoWizardPrediction p = pipe.predict(image, options, null);
      assertThat(p.height()).isEqualTo(68);
      assertThat(p.width()).isEqualTo(112);
      depthTrained = p.depth().values();
      for (float v : depthTrained) assertThat(v).isBetween(0f, 1f);
      for (float v : p.normals().values()) assertThat(v).isBetween(-1f, 1f);
    }
    try (GeoWizardPipeline pipe = GeoWizardPipeline.load(BASE)) {
      depthBase = pipe.predict(image, options, null).depth().values();
    }
    assertThat(depthTrained).isNotEqualTo(depthBase);
  }

  @Test
  void gradientCheckpointingGivesTheSameLossAndGradients() {
    float[][] grads = new float[2][];
    double[] losses = new double[2];
    for (int run = 0; run < 2; run++) {
      TrainOptions o = TrainOptions.defaults().withBatch(2, 1).withSeed(2).withGradientCheckpointing(run == 1);
      try (GeoWizardE2EFTModel model = model(NoiseType.GAUSSIAN); E2EFTTrainer trainer = new E2EFTTrainer(model, o);
          PointerScope s = new PointerScope()) {
        losses[run] = trainer.microStep(batch(3, Domain.OUTDOOR), 0, null).value();
        List<Tensor> g = new ArrayList<>();
        for (Tensor p : model.trainableParameters()) g.add(p.grad().flatten());
        grads[run] = Tensors.toFloats(torch.cat(new org.bytedeco.pytorch.TensorVector(g.toArray(new Tensor[0]))));
      }
    }
    assertThat(losses[1]).isEqualTo(losses[0]);
    // as GradientCheckpointingTest: float32 reassociation only, bounded by 1e-6 of the largest gradient entry
    double max = 0;
    double diff = 0;
    for (int i = 0; i < grads[0].length; i++) {
      max = Math.max(max, Math.abs(grads[0][i]));
      diff = Math.max(diff, Math.abs(grads[0][i] - grads[1][i]));
    }
    assertThat(max).isPositive();
    assertThat(diff).isLessThanOrEqualTo(1e-6 * max);
  }

  @Test
  void aMarigoldBaseOrNoNoiseTypeIsRefusedWithAClearMessage() {
    Golden.load("training/depth_marigold_zeros_warmup0", "case");
    assertThatThrownBy(() -> GeoWizardE2EFTModel.load(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth"),
        NoiseType.ZEROS, Precision.FP32)).hasMessageContaining("image_encoder");
    assertThatThrownBy(() -> GeoWizardE2EFTModel.load(BASE, null, Precision.FP32)).hasMessageContaining("noise type");
  }


}
