package marigold4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import marigold4j.nn.Parameter;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;
import marigold4j.pipeline.Precision;
import marigold4j.random.RecordedNoise;
import marigold4j.testing.Golden;
import marigold4j.torch.Optim;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * Replays one recorded run of the original {@code training/train.py} ({@code testdata/training/<case>}) through
 * {@link E2EFTTrainer} and hands every recorded quantity, with the Java value beside it, to a {@link Sink}: per
 * micro-batch the UNet input, v-prediction, decoder input, loss input and loss; per optimizer step the selected
 * gradients before clipping, the pre-clip gradient norm, the clip coefficient, the parameters after the AdamW step and
 * the AdamW moments of {@code conv_out.bias}. Quantities that must be exact (initial weights, the widened conv_in,
 * timesteps, learning rate, Adam's step count) are asserted here.
 *
 * <p>{@link TrainingGoldenTest} replays in float32 and checks each quantity against its tolerance;
 * {@link TrainingTolerances} replays in float64 to measure the original's float32 deviation, from which the
 * tolerances come.
 */
final class TrainPyReplay {
  /** Receives each recorded quantity (key such as {@code micro3.model_pred} or {@code step1.grad.conv_in.bias}). */
  interface Sink {
    void tensor(String key, Tensor actual, Tensor expected);

    void scalar(String key, double actual, double expected);
  }

  private TrainPyReplay() {}

  /**
   * @param checkpointing overrides the recorded {@code --gradient_checkpointing} flag when not null
   * @param precision {@link Precision#FP32} as the original ran, or {@link Precision#FP64} for the reference replay
   */
  static void run(String name, Boolean checkpointing, Precision precision, Sink sink) {
    Golden g = Golden.load("training/" + name, "case");
    JsonNode c = g.json();
    Map<String, String> args = parseArgs(c.get("command").asText());
    boolean gradientCheckpointing = checkpointing != null ? checkpointing : args.containsKey("gradient_checkpointing");
    Path base = Golden.fixtures().resolve(c.get("checkpoint").asText());
    Modality modality = Modality.parse(args.get("modality"));
    NoiseType noise = args.containsKey("noise_type") ? NoiseType.parse(args.get("noise_type")) : null;
    TrainOptions options = TrainOptions.defaults()
        .withBatch(Integer.parseInt(args.get("train_batch_size")), Integer.parseInt(args.get("gradient_accumulation_steps")))
        .withLearningRate(Double.parseDouble(args.get("learning_rate")), Long.parseLong(args.get("lr_exp_warmup_steps")),
            Long.parseLong(args.get("lr_total_iter_length")))
        .withMaxGradNorm(Double.parseDouble(args.getOrDefault("max_grad_norm", "1.0")))
        .withMaxTrainSteps(Long.parseLong(args.get("max_train_steps")))
        .withGradientCheckpointing(gradientCheckpointing);
    org.bytedeco.pytorch.global.torch.ScalarType dtype = precision.masterDtype();

    try (PointerScope outer = new PointerScope();
        E2EFTModel model = E2EFTModel.load(base, modality, noise, precision);
        E2EFTTrainer trainer = new E2EFTTrainer(model, options)) {
      Map<String, Parameter> params = model.unet().namedParameters();
      sink.tensor("empty_encoding", model.emptyEncoding(), g.tensor("empty_encoding"));
      for (String k : g.tensors().keySet()) {
        if (k.startsWith("init.")) {
          assertThat(Tensors.maxAbsDiff(params.get(k.substring(5)).get(), g.tensor(k))).as(name + " " + k).isZero();
        }
      }
      if (g.has("replace_conv_in.weight_after")) {
        assertThat(Tensors.maxAbsDiff(params.get("conv_in.weight").get(), g.tensor("replace_conv_in.weight_after")))
            .as(name + " widened conv_in.weight").isZero();
        assertThat(Tensors.maxAbsDiff(params.get("conv_in.bias").get(), g.tensor("replace_conv_in.bias_after")))
            .as(name + " widened conv_in.bias").isZero();
      }
      RecordedNoise recorded = new RecordedNoise();
      for (JsonNode d : c.get("random_draws")) recorded.addRandnLike(g.tensor(d.get("key").asText()).to(dtype));
      trainer.setNoise(k -> recorded);

      for (JsonNode step : c.get("optimizer_steps")) {
        int s = step.get("optimizer_step").asInt();
        for (JsonNode mb : step.get("micro_batches")) {
          int m = mb.asInt();
          Map<String, Tensor> taps = new HashMap<>();
          try (PointerScope scope = new PointerScope()) {
            E2EFTModel.Loss loss = trainer.microStep(batch(m, dtype), m, (n, t) -> taps.put(n, t.detach().clone()));
            for (String n : new String[] {"unet_input", "model_pred", "decoder_in", "loss_prediction"}) {
              sink.tensor("micro" + m + "." + n, taps.get(n), g.tensor("micro" + m + "." + n));
            }
            assertThat(Tensors.toLongs(taps.get("timesteps"))).as(name + " timesteps")
                .containsExactly(Tensors.toLongs(g.tensor("micro" + m + ".timesteps")));
            sink.scalar("micro" + m + ".loss", loss.value(), c.get("micro_batches").get(m).get("loss").asDouble());
          }
        }
        for (String p : texts(c.get("selected_parameters"))) {
          sink.tensor("step" + s + ".grad." + p, params.get(p).get().grad(), g.tensor("step" + s + ".grad_pre_clip." + p));
        }
        E2EFTTrainer.StepResult r = trainer.optimizerStep();
        assertThat(r.lr()).as(name + " step " + s + " lr").isCloseTo(step.get("lr").asDouble(), within(1e-15));
        assertThat(r.skipped()).as(name + " step " + s + " skipped").isFalse();
        sink.scalar("step" + s + ".grad_norm", r.gradNormPreClip(), step.get("grad_norm_total_pre_clip").asDouble());
        sink.scalar("step" + s + ".clip_coef", r.clipCoef(), step.get("clip_coef").asDouble());
        for (String p : texts(c.get("selected_parameters"))) {
          sink.tensor("step" + s + ".param_after." + p, params.get(p).get(), g.tensor("step" + s + ".param_after." + p));
        }
        String moments = "step" + s + ".adam.conv_out.bias.";
        if (g.has(moments + "exp_avg")) {
          Optim.AdamWState st = Optim.adamWState(trainer.optimizer(), params.get("conv_out.bias").get());
          assertThat(st.step()).as(name + " adam step count").isEqualTo(step.get("adam_step_count").asLong());
          sink.tensor(moments + "exp_avg", st.expAvg(), g.tensor(moments + "exp_avg"));
          sink.tensor(moments + "exp_avg_sq", st.expAvgSq(), g.tensor(moments + "exp_avg_sq"));
        }
      }
    }
  }

  /** Recorded micro-batch {@code m}, its float tensors in {@code dtype}. */
  private static TrainingBatch batch(int m, org.bytedeco.pytorch.global.torch.ScalarType dtype) {
    TrainingBatch b = FixtureBatches.batch(m);
    if (dtype == org.bytedeco.pytorch.global.torch.ScalarType.Float) return b;
    return new TrainingBatch(b.rgb().to(dtype), b.valMask(), b.metricDepth() == null ? null : b.metricDepth().to(dtype),
        b.normals() == null ? null : b.normals().to(dtype));
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  /** {@code --key value} pairs of the recorded command line ({@code --flag} alone maps to "true"). */
  static Map<String, String> parseArgs(String command) {
    String[] parts = command.trim().split("\\s+");
    Map<String, String> out = new HashMap<>();
    for (int i = 0; i < parts.length; i++) {
      if (!parts[i].startsWith("--")) continue;
      String key = parts[i].substring(2);
      boolean hasValue = i + 1 < parts.length && !parts[i + 1].startsWith("--");
      out.put(key, hasValue ? parts[++i] : "true");
    }
    return out;
  }
}
