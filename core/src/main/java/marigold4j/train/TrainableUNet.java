package marigold4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ConfigJson;
import marigold4j.models.unet.UNet2DConditionModel;
import marigold4j.nn.ActivationCheckpoint;
import marigold4j.nn.Parameter;
import marigold4j.nn.SegmentRunner;
import marigold4j.pipeline.Precision;
import marigold4j.schedulers.SchedulerConfig.PredictionType;
import marigold4j.torch.F;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The UNet side of an E2E-FT run, shared by {@link E2EFTModel} and {@link GeoWizardE2EFTModel}: float32 master
 * weights the optimizer updates in place, the forward pass under autocast for mixed precision, with or without
 * activation checkpointing, the backward pass, and the x0 estimate the single step at t = 999 decodes.
 */
final class TrainableUNet implements AutoCloseable {
  private final UNet2DConditionModel unet;
  private final ObjectNode configJson;
  private final Precision precision;
  private final Map<String, Tensor> trainable;              // name -> parameter, registration order

  /**
   * Takes a freshly loaded UNet for training: each parameter is replaced by a writable float32 clone that requires
   * gradients (owned by no caller's scope).
   */
  TrainableUNet(UNet2DConditionModel unet, ObjectNode configJson, Precision precision) {
    this.unet = unet;
    this.configJson = configJson;
    this.precision = precision;
    Map<String, Tensor> params = new LinkedHashMap<>();
    try (NoGradGuard ng = new NoGradGuard()) {
      unet.namedParameters().forEach((name, p) -> {
        if (p.kind() != Parameter.Kind.PARAMETER) return;
        p.set(p.get().clone().requires_grad_(true));
        params.put(name, p.get());
      });
    }
    this.trainable = java.util.Collections.unmodifiableMap(params);
  }

  UNet2DConditionModel unet() {
    return unet;
  }

  ObjectNode configJson() {
    return configJson.deepCopy();
  }

  Precision precision() {
    return precision;
  }

  /** The trainable parameters by state-dict name, in registration order. */
  Map<String, Tensor> namedParameters() {
    return trainable;
  }

  List<Tensor> parameters() {
    return List.copyOf(trainable.values());
  }

  /**
   * Runs {@code body} with the UNet's segments run directly or, with gradient checkpointing (and gradients enabled),
   * through an {@link ActivationCheckpoint} that the returned loss carries to {@link #backward}.
   */
  E2EFTModel.Loss forward(boolean gradientCheckpointing, Function<SegmentRunner, E2EFTModel.Loss> body) {
    ActivationCheckpoint checkpoint = gradientCheckpointing && GradMode.is_enabled() ? new ActivationCheckpoint() : null;
    try {
      E2EFTModel.Loss loss = body.apply(checkpoint == null ? SegmentRunner.DIRECT : checkpoint);
      if (checkpoint == null || !loss.hasGraph()) {
        if (checkpoint != null) checkpoint.close();
        return loss;
      }
      return loss.withCheckpoint(checkpoint);
    } catch (RuntimeException | Error e) {
      if (checkpoint != null) checkpoint.close();
      throw e;
    }
  }

  /**
   * Back-propagates {@code loss / divisor}, completing the UNet's checkpointed backward pass when the loss has one,
   * and releases that checkpoint. Does nothing for a dropped loss.
   */
  void backward(E2EFTModel.Loss loss, double divisor) {
    try {
      if (!loss.hasGraph()) return;
      loss.loss().div(F.s(divisor)).backward();
      if (loss.checkpoint() != null) {
        // the UNet blocks are recomputed as they ran: under autocast with mixed precision
        autocast(() -> {
          loss.checkpoint().backward();
          return null;
        });
      }
    } finally {
      if (loss.checkpoint() != null) loss.checkpoint().close();
    }
  }

  /** Runs {@code f} under autocast to the run's precision (directly in fp32 / fp64). */
  Tensor autocast(Supplier<Tensor> f) {
    if (precision.isFull()) return f.get();
    // autocast state is thread-local: enabled on the thread that runs the UNet, restored afterwards
    torch.DeviceType device = trainable.values().iterator().next().is_cuda() ? torch.DeviceType.CUDA
        : torch.DeviceType.CPU;
    boolean was = torch.is_autocast_enabled(device);
    torch.set_autocast_dtype(device, precision.dtype());
    torch.set_autocast_enabled(device, true);
    try {
      return f.get();
    } finally {
      torch.set_autocast_enabled(device, was);
    }
  }

  /**
   * The clean-latent estimate from the UNet's parameterised prediction, as DDIM's step computes it, with float32
   * coefficient tensors of the batch's size (the original indexes {@code alphas_cumprod[timesteps]}).
   *
   * @param alphaProdT {@code alphas_cumprod[t]}
   * @param noisy the noisy latent the UNet saw
   * @param modelPred the UNet's output
   */
  static Tensor x0(PredictionType predictionType, float alphaProdT, Tensor noisy, Tensor modelPred) {
    long b = modelPred.size(0);
    Tensor alphaT = torch.full(new long[] {b, 1, 1, 1}, F.s(alphaProdT));                       // (B, 1, 1, 1)
    Tensor betaT = alphaT.neg().add(F.s(1.0));
    return switch (predictionType) {
      case V_PREDICTION -> alphaT.pow(F.s(0.5)).mul(noisy).sub(betaT.pow(F.s(0.5)).mul(modelPred));
      case EPSILON -> noisy.sub(betaT.pow(F.s(0.5)).mul(modelPred)).div(alphaT.pow(F.s(0.5)));
      case SAMPLE -> modelPred;
    };
  }

  /** A JSON object file (a component's config), or a {@link CheckpointException} naming it. */
  static ObjectNode readObject(Path file) {
    try {
      JsonNode n = ConfigJson.mapper().readTree(file.toFile());
      if (n == null || !n.isObject()) throw new CheckpointException(file, "expected a JSON object");
      return (ObjectNode) n;
    } catch (IOException e) {
      throw new CheckpointException(file, "cannot read: " + e.getMessage(), e);
    }
  }

  /** The parameters whose name does not contain {@code part}, and those whose name does, in registration order. */
  List<List<Tensor>> splitByName(String part) {
    List<Tensor> with = new ArrayList<>();
    List<Tensor> without = new ArrayList<>();
    trainable.forEach((name, t) -> (name.contains(part) ? with : without).add(t));
    return List.of(without, with);
  }

  @Override
  public void close() {
    unet.close();
  }
}
