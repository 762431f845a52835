package marigold4j.weights;

import org.bytedeco.pytorch.global.torch;

/** Element types of checkpoint files, with their safetensors spelling, size and torch type. */
public enum DType {
  F64("F64", 8, torch.ScalarType.Double, "float64"),
  F32("F32", 4, torch.ScalarType.Float, "float32"),
  F16("F16", 2, torch.ScalarType.Half, "float16"),
  BF16("BF16", 2, torch.ScalarType.BFloat16, "bfloat16"),
  I64("I64", 8, torch.ScalarType.Long, "int64"),
  I32("I32", 4, torch.ScalarType.Int, "int32"),
  I16("I16", 2, torch.ScalarType.Short, "int16"),
  I8("I8", 1, torch.ScalarType.Char, "int8"),
  U8("U8", 1, torch.ScalarType.Byte, "uint8"),
  BOOL("BOOL", 1, torch.ScalarType.Bool, "bool");

  private final String safetensors;
  private final int bytes;
  private final torch.ScalarType torchType;
  private final String pythonName;

  DType(String safetensors, int bytes, torch.ScalarType torchType, String pythonName) {
    this.safetensors = safetensors;
    this.bytes = bytes;
    this.torchType = torchType;
    this.pythonName = pythonName;
  }

  public int bytes() {
    return bytes;
  }

  public torch.ScalarType torchType() {
    return torchType;
  }

  public String safetensorsName() {
    return safetensors;
  }

  /** As Python prints it without the {@code torch.} prefix: float32, float16, ... */
  public String pythonName() {
    return pythonName;
  }

  public static DType fromSafetensors(String s) {
    for (DType d : values()) if (d.safetensors.equals(s)) return d;
    return null;
  }

  public static DType fromTorch(torch.ScalarType t) {
    for (DType d : values()) if (d.torchType == t) return d;
    throw new IllegalArgumentException("unsupported torch dtype " + t);
  }
}
