package marigold4j.torch;

import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OptimizerParamGroup;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * libtorch's optimizer and gradient utilities behind plain Java signatures: AdamW construction (with the binding's
 * reversed betas handled and checked here, nowhere else), per-step learning rates, gradient clipping and state files.
 */
public final class Optim {
  private Optim() {}

  /**
   * {@code torch.optim.AdamW(params, lr, betas=(beta1, beta2), eps, weight_decay)}: decoupled weight decay
   * ({@code p *= 1 - lr * wd}) followed by the bias-corrected Adam step.
   *
   * @throws IllegalStateException if the options read back differently from what was set
   */
  public static AdamW adamW(List<org.bytedeco.pytorch.Tensor> params, double lr, double beta1, double beta2,
      double eps, double weightDecay) {
    Engine.init();
    AdamWOptions o = new AdamWOptions(lr);
    o.weight_decay().put(weightDecay);
    o.eps().put(eps);
    // betas() is a std::tuple<double, double> seen as a DoublePointer; libstdc++ stores it reversed, so index 0 holds
    // beta2 (docs/ENGINE.md, pitfall 3). Writing (beta1, beta2) would silently swap them.
    o.betas().put(0, beta2).put(1, beta1);
    double readBeta2 = o.betas().get(0);
    double readBeta1 = o.betas().get(1);
    if (readBeta1 != beta1 || readBeta2 != beta2 || o.eps().get() != eps || o.weight_decay().get() != weightDecay) {
      throw new IllegalStateException("AdamW options read back as betas=(" + readBeta1 + ", " + readBeta2 + "), eps="
          + o.eps().get() + ", weight_decay=" + o.weight_decay().get() + " instead of (" + beta1 + ", " + beta2
          + "), " + eps + ", " + weightDecay);
    }
    return new AdamW(new TensorVector(params.toArray(new org.bytedeco.pytorch.Tensor[0])), o);
  }

  /**
   * {@code optimizer.add_param_group({"params": params})}: a group without options of its own, so it takes a copy of
   * the optimizer's defaults (for AdamW: lr, betas, eps, weight decay).
   */
  public static void addParamGroup(Optimizer optimizer, List<org.bytedeco.pytorch.Tensor> params) {
    TensorVector group = new TensorVector(params.toArray(new org.bytedeco.pytorch.Tensor[0]));
    optimizer.add_param_group(new OptimizerParamGroup(group));
  }

  /** Sets the learning rate of every parameter group (what a LambdaLR step does). */
  public static void setLearningRate(Optimizer optimizer, double lr) {
    for (long g = 0; g < optimizer.param_groups().size(); g++) {
      optimizer.param_groups().get(g).options().set_lr(lr);
    }
  }

  /** The learning rate of the first parameter group. */
  public static double learningRate(Optimizer optimizer) {
    return optimizer.param_groups().get(0).options().get_lr();
  }

  /**
   * {@code torch.nn.utils.clip_grad_norm_(params, maxNorm)}: scales every gradient by
   * {@code min(1, maxNorm / (total + 1e-6))} where {@code total} is the L2 norm of all gradients together.
   * Parameters without a gradient are skipped.
   *
   * @return the total norm before clipping (may be NaN or infinite; the gradients are then scaled by NaN as torch does)
   */
  public static double clipGradNorm(List<org.bytedeco.pytorch.Tensor> params, double maxNorm) {
    return torch.clip_grad_norm_(new TensorVector(params.toArray(new org.bytedeco.pytorch.Tensor[0])), maxNorm, 2.0,
        false);
  }

  /** Writes the optimizer's state (moments, step counts, options) in libtorch's archive format. */
  public static void save(Optimizer optimizer, Path file) {
    OutputArchive archive = new OutputArchive();
    optimizer.save(archive);
    archive.save_to(file.toString());
  }

  /** AdamW's per-parameter state: the step count and the two moment estimates. */
  public record AdamWState(long step, org.bytedeco.pytorch.Tensor expAvg, org.bytedeco.pytorch.Tensor expAvgSq) {}

  /**
   * The AdamW state of {@code param}, or null before its first step. The binding exposes no state accessor, so the
   * optimizer is serialised to a temporary archive and the entry read back (keyed, as libtorch writes it, by the
   * parameter's TensorImpl address): meant for tests and diagnostics, not for every step.
   */
  public static AdamWState adamWState(Optimizer optimizer, org.bytedeco.pytorch.Tensor param) {
    Path tmp = null;
    try {
      tmp = java.nio.file.Files.createTempFile("adamw-state", ".pt");
      save(optimizer, tmp);
      InputArchive archive = new InputArchive();
      archive.load_from(tmp.toString());
      InputArchive states = new InputArchive();
      archive.read("state", states);
      InputArchive mine = new InputArchive();
      if (!states.try_read(Long.toString(param.unsafeGetTensorImpl().address()), mine)) return null;
      org.bytedeco.pytorch.IValue step = new org.bytedeco.pytorch.IValue();
      org.bytedeco.pytorch.Tensor expAvg = new org.bytedeco.pytorch.Tensor();
      org.bytedeco.pytorch.Tensor expAvgSq = new org.bytedeco.pytorch.Tensor();
      mine.read("step", step);
      mine.read("exp_avg", expAvg);
      mine.read("exp_avg_sq", expAvgSq);
      return new AdamWState(step.isTensor() ? step.toTensor().item_long() : step.toInt(), expAvg, expAvgSq);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } finally {
      if (tmp != null) tmp.toFile().delete();
    }
  }

  /** Restores a state written by {@link #save} into an optimizer over the same parameters, in the same order. */
  public static void load(Optimizer optimizer, Path file) {
    InputArchive archive = new InputArchive();
    archive.load_from(file.toString());
    optimizer.load(archive);
  }
}
