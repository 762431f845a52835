package marigold4j.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import marigold4j.torch.Autograd;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Activation (gradient) checkpointing for a forward pass run segment by segment, the memory-saving technique of
 * {@code torch.utils.checkpoint} that diffusers' {@code enable_gradient_checkpointing()} applies. libtorch's custom
 * autograd {@code Function} cannot be subclassed from Java, so the checkpoint is kept by hand:
 *
 * <ul>
 *   <li>{@link #run} computes a segment without autograd and frees its activations at once; its outputs come back
 *       as detached leaves that require grad (the boundaries). Only the boundaries and the segments' other inputs
 *       are kept.
 *   <li>The caller builds the rest of the graph on the last outputs and back-propagates its loss: that fills the
 *       {@code grad()} of the boundaries it used.
 *   <li>{@link #backward} then walks the segments in reverse order: each one is recomputed with autograd from its
 *       kept inputs and back-propagated with its outputs' gradients. That accumulates the parameters' gradients and,
 *       because a segment's inputs are the earlier boundaries themselves, their {@code grad()}: a value consumed by
 *       several later segments (a skip connection, the time embedding) receives the sum of their gradients before
 *       its producer is recomputed.
 * </ul>
 *
 * <p>The parameters' gradients equal those of the plain forward and backward pass up to the order of float
 * additions. Segments must be deterministic (no dropout, no random draws). Recomputation runs under the autocast
 * state of the thread that calls {@link #backward}, which must be the one the forward pass ran under.
 *
 * <p>Memory: each segment (and each recomputation) runs in a {@code PointerScope} of its own, so a segment's
 * intermediate tensors are freed when it ends; the boundaries are retained by this object until {@link #close}.
 * One instance serves one forward / backward pass.
 */
public final class ActivationCheckpoint implements SegmentRunner, AutoCloseable {
  private record Recorded(Segment segment, List<Tensor> inputs, List<Tensor> outputs) {}

  private final List<Recorded> recorded = new ArrayList<>();
  private final Set<Tensor> boundaries = Collections.newSetFromMap(new IdentityHashMap<>());
  private final List<Tensor> retained = new ArrayList<>();
  private boolean backwardDone;
  private boolean closed;

  /**
   * Runs {@code segment} without autograd and records it for {@link #backward}. With autograd disabled by the caller
   * (a {@code NoGradGuard}) there is nothing to checkpoint: the segment simply runs.
   *
   * @return the outputs as leaves that require grad (floating-point outputs) or as they are (others), valid until
   *     {@link #close}
   * @throws IllegalArgumentException if an input requires grad without being an output of an earlier segment (a
   *     value computed between segments, whose gradient this mechanism would lose)
   */
  @Override
  public List<Tensor> run(List<Tensor> inputs, Segment segment) {
    if (closed || backwardDone) throw new IllegalStateException("this checkpoint was already back-propagated or closed");
    if (!GradMode.is_enabled()) return segment.forward(inputs, true);
    List<Tensor> kept = new ArrayList<>(inputs);                          // may hold nulls
    for (Tensor t : kept) {
      if (t != null && t.requires_grad() && !boundaries.contains(t)) {
        throw new IllegalArgumentException("segment input " + Tensors.describe(t) + " requires grad but is not the "
            + "output of an earlier segment: compute it inside a segment");
      }
    }
    List<Tensor> outputs = new ArrayList<>();
    try (NoGradGuard ng = new NoGradGuard(); PointerScope scope = new PointerScope()) {
      Map<Tensor, Tensor> leafOf = new IdentityHashMap<>();
      for (Tensor raw : segment.forward(kept, true)) {
        Tensor out = leafOf.get(raw);
        if (out == null) {
          // detach: a fresh tensor even if the segment passed an input through; it shares raw's storage
          out = raw.detach();
          if (out.is_floating_point()) {
            out.requires_grad_(true);
            boundaries.add(out);
          }
          out.retainReference();                                          // outlives this segment's scope
          retained.add(out);
          leafOf.put(raw, out);
        }
        outputs.add(out);
      }
    }
    List<Tensor> result = Collections.unmodifiableList(outputs);
    recorded.add(new Recorded(segment, Collections.unmodifiableList(kept), result));
    return result;
  }

  /**
   * Back-propagates through the recorded segments, last first; call it after the loss built on the segments'
   * outputs has been back-propagated. Outputs whose {@code grad()} is undefined (not used by the loss) contribute
   * nothing. The boundaries' gradients are released as they are consumed.
   *
   * @throws IllegalStateException if autograd is disabled on this thread, or on a second call
   */
  public void backward() {
    if (closed || backwardDone) throw new IllegalStateException("this checkpoint was already back-propagated or closed");
    if (!GradMode.is_enabled()) throw new IllegalStateException("backward() needs autograd enabled (no NoGradGuard)");
    backwardDone = true;
    for (int i = recorded.size() - 1; i >= 0; i--) {
      Recorded r = recorded.get(i);
      try (PointerScope scope = new PointerScope()) {
        // each distinct boundary once: its grad() already sums every use of it
        List<Integer> withGrad = new ArrayList<>();
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int k = 0; k < r.outputs().size(); k++) {
          Tensor out = r.outputs().get(k);
          if (boundaries.contains(out) && seen.add(out) && out.grad().defined()) withGrad.add(k);
        }
        if (withGrad.isEmpty()) continue;
        List<Tensor> again = r.segment().forward(r.inputs(), false);
        List<Tensor> outs = new ArrayList<>();
        List<Tensor> grads = new ArrayList<>();
        for (int k : withGrad) {
          if (!again.get(k).requires_grad()) continue;                    // depends on nothing trainable
          outs.add(again.get(k));
          grads.add(r.outputs().get(k).grad());
        }
        if (!outs.isEmpty()) Autograd.backward(outs, grads);
        for (int k : withGrad) r.outputs().get(k).mutable_grad().reset();
      }
    }
  }

  /** Releases the boundaries; idempotent. Outputs returned by {@link #run} must not be used afterwards. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    for (Tensor t : retained) t.releaseReference();
    retained.clear();
    boundaries.clear();
    recorded.clear();
  }
}
