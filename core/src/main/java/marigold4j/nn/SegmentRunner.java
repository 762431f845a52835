package marigold4j.nn;

import java.util.List;
import org.bytedeco.pytorch.Tensor;

/**
 * Runs the segments a model's forward pass is split into (for the UNet: stem, each down block, mid block, each up
 * block, output head). {@link #DIRECT} simply calls each segment, which is the plain forward pass;
 * {@link ActivationCheckpoint} runs them without keeping their activations and recomputes them in the backward pass.
 *
 * <p>A model written against this interface passes every tensor that flows from one segment to a later one through
 * the segments' input and output lists; tensors that no segment computes (the model's inputs, constants) may be
 * inputs too. Parameters are not inputs: segments reach them through their modules.
 */
@FunctionalInterface
public interface SegmentRunner {
  /** Calls each segment once, reporting: the plain forward pass. */
  SegmentRunner DIRECT = (inputs, segment) -> segment.forward(inputs, true);

  /**
   * Runs one segment.
   *
   * @param inputs the segment's tensor inputs (entries may be null for absent optional inputs)
   * @return the segment's outputs, to be used by later segments and by the model's caller
   */
  List<Tensor> run(List<Tensor> inputs, Segment segment);

  /** One segment of a forward pass: a pure function of its inputs and its modules' parameters. */
  @FunctionalInterface
  interface Segment {
    /**
     * @param inputs the tensors given to {@link SegmentRunner#run}, in that order
     * @param report false when the segment is recomputed for a backward pass, so that intermediate-activation hooks
     *     report each value once
     */
    List<Tensor> forward(List<Tensor> inputs, boolean report);
  }
}
