package marigold4j.pipeline;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.global.torch;

/** The numeric precision the models run in: one setting, chosen once per pipeline. */
public enum Precision {
  FP32(torch.ScalarType.Float, "float32"),
  BF16(torch.ScalarType.BFloat16, "bfloat16"),
  FP16(torch.ScalarType.Half, "float16"),
  /**
   * The reference precision: the float64 replays from which the test tolerances are derived (as the fixtures'
   * {@code fp32_vs_fp64} figures are). Not a command-line choice.
   */
  FP64(torch.ScalarType.Double, "float64");

  private final torch.ScalarType dtype;
  private final String label;

  Precision(torch.ScalarType dtype, String label) {
    this.dtype = dtype;
    this.label = label;
  }

  public torch.ScalarType dtype() {
    return dtype;
  }

  public String label() {
    return label;
  }

  /** The dtype of trainable master weights and of the values computed from them: float32, or float64 for FP64. */
  public torch.ScalarType masterDtype() {
    return this == FP64 ? torch.ScalarType.Double : torch.ScalarType.Float;
  }

  /** Whether the models run directly in their own dtype (no autocast): float32 and float64. */
  public boolean isFull() {
    return this == FP32 || this == FP64;
  }

  /**
   * What {@code --half-precision} means on a device: bf16 on CPU (fast bf16 matrix units, fp16 has no fast kernels
   * there), fp16 on CUDA as the original does.
   */
  public static Precision half(Device device) {
    return device.is_cuda() ? FP16 : BF16;
  }
}
