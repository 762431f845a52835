package marigold4j.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Strict loading of a state dict into a {@link Module}. */
public final class StateDicts {
  private StateDicts() {}

  /**
   * Installs every tensor of {@code stateDict} into {@code module}, converted to {@code dtype}. All missing,
   * unexpected and mis-shaped keys are collected and reported together; nothing is installed if any is found.
   * Non-persistent buffers are optional in the file (e.g. CLIP's {@code position_ids}, which old files carry).
   *
   * @param source the file or folder the tensors came from, named in the error message
   */
  public static void loadStrict(Module module, Map<String, Tensor> stateDict, String source,
      torch.ScalarType dtype) {
    UnaryOperator<String> rename = module.legacyKeyMapper();
    Map<String, Parameter> slots = module.namedParameters();
    Map<String, Tensor> renamed = new LinkedHashMap<>();
    stateDict.forEach((k, t) -> {
      String key = rename.apply(k);
      renamed.put(key, key.equals(k) ? t : module.adaptLegacyTensor(key, t));
    });
    List<String> unexpected = new ArrayList<>();
    List<String> misShaped = new ArrayList<>();
    renamed.forEach((k, t) -> {
      Parameter p = slots.get(k);
      if (p == null) {
        unexpected.add(k);
      } else if (!Arrays.equals(p.shape(), Tensors.shape(t))) {
        misShaped.add(k + " " + Arrays.toString(Tensors.shape(t)) + " (expected " + Arrays.toString(p.shape()) + ")");
      }
    });
    List<String> missing = new ArrayList<>();
    slots.forEach((k, p) -> {
      if (p.kind() != Parameter.Kind.NON_PERSISTENT_BUFFER && !renamed.containsKey(k)) missing.add(k);
    });
    if (!missing.isEmpty() || !unexpected.isEmpty() || !misShaped.isEmpty()) {
      StringBuilder sb = new StringBuilder(source).append(": weights do not match the model config");
      appendList(sb, "missing", missing);
      appendList(sb, "unexpected", unexpected);
      appendList(sb, "wrong shape", misShaped);
      throw new CheckpointException(sb.toString());
    }
    renamed.forEach((k, t) -> {
      Parameter p = slots.get(k);
      Tensor v = t.is_floating_point() && Tensors.dtype(t) != dtype ? t.to(dtype) : t;
      p.set(v);
    });
  }

  private static void appendList(StringBuilder sb, String what, List<String> keys) {
    if (keys.isEmpty()) return;
    sb.append("\n  ").append(keys.size()).append(' ').append(what).append(':');
    int shown = 0;
    for (String k : keys) {
      if (shown++ == 20) {
        sb.append("\n    ... and ").append(keys.size() - 20).append(" more");
        break;
      }
      sb.append("\n    ").append(k);
    }
  }
}
