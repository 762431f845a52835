package marigold4j.estimator;

import java.util.List;
import marigold4j.pipeline.Modality;

/**
 * What a checkpoint is: its family, the maps it produces, and the evidence that decided it (shown to users, e.g.
 * {@code model_index.json: prediction_type 'normals'}).
 */
public record Detection(Family family, List<Modality> maps, String evidence) {
  public Detection {
    maps = List.copyOf(maps);
    if (maps.isEmpty()) throw new IllegalArgumentException("a detection without maps");
  }

  /** The same checkpoint producing only {@code map} (a user's choice for a single-task family). */
  public Detection only(Modality map, String why) {
    return new Detection(family, List.of(map), why);
  }
}
