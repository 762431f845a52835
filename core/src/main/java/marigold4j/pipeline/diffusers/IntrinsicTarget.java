package marigold4j.pipeline.diffusers;

import java.util.List;
import marigold4j.pipeline.diffusers.MarigoldVisuals.PredictionSpace;

/**
 * One entry of an intrinsics checkpoint's {@code target_properties}: a predicted three-channel target ({@code albedo},
 * {@code shading}, a {@code stack} such as {@code material}) or one channel of a stack ({@code roughness}).
 *
 * @param subTargets for a stack: the names of its three channels, null for an unused one; empty otherwise
 */
public record IntrinsicTarget(String name, PredictionSpace space, boolean upToScale, List<String> subTargets) {
  public IntrinsicTarget {
    subTargets = subTargets == null ? List.of() : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(
        subTargets));
  }
}
