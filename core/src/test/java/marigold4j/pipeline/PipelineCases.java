package marigold4j.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import marigold4j.image.Resize.Interpolation;
import marigold4j.random.RecordedNoise;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;

/** Reading the pipeline goldens: options from {@code call_kwargs}, replayed random draws, uint8 comparisons. */
final class PipelineCases {
  private PipelineCases() {}

  static MarigoldOptions options(JsonNode json) {
    JsonNode k = json.path("call_kwargs");
    String colorMap = k.path("color_map").isNull() ? null : k.path("color_map").asText("Spectral");
    return new MarigoldOptions(
        k.path("denoising_steps").asInt(),
        k.path("ensemble_size").asInt(),
        k.path("processing_res").asInt(),
        k.path("match_input_res").asBoolean(true),
        Interpolation.fromMarigoldName(k.path("resample_method").asText("bilinear")),
        k.path("batch_size").asInt(0),
        colorMap,
        NoiseType.parse(k.path("noise").asText()),
        k.path("normals").asBoolean(false) ? Modality.NORMALS : Modality.DEPTH,
        TimestepSpacing.parse(json.path("scheduler_timestep_spacing").asText()));
  }

  /** The draws the original made during the call, in order, to be served back to the reimplementation. */
  static RecordedNoise recordedDraws(Golden g) {
    RecordedNoise noise = new RecordedNoise();
    for (JsonNode d : g.json().path("random_draws")) {
      switch (d.path("fn").asText()) {
        case "torch.randn" -> noise.addRandn(g.tensor(d.path("key").asText()));
        case "torch.randn_like" -> noise.addRandnLike(g.tensor(d.path("key").asText()));
        case "random.random", "np.random.random" -> noise.addUniform(d.path("value").asDouble());
        default -> throw new IllegalArgumentException("unknown draw " + d);
      }
    }
    return noise;
  }

  /**
   * uint8 images from float maps: a LUT index or a truncation flips where the float value sits on a bin edge, so
   * a few elements may differ by a few units (README: about 0.03 % of the values, up to 3 units for the Spectral
   * LUT, 1 unit for normals). Allowed: the golden's own fp32-vs-fp64 mismatch count or 0.1 % of the elements,
   * whichever is larger, and at most {@code maxUnits} units.
   */
  static void assertBytesClose(byte[] actual, Tensor expected, JsonNode tolerance, int maxUnits, String what) {
    byte[] want = Tensors.toBytes(expected);
    assertThat(actual).as(what + " size").hasSize(want.length);
    int mismatched = 0;
    int maxAbs = 0;
    for (int i = 0; i < want.length; i++) {
      int d = Math.abs((actual[i] & 0xff) - (want[i] & 0xff));
      if (d != 0) mismatched++;
      maxAbs = Math.max(maxAbs, d);
    }
    int allowed = Math.max(tolerance.path("mismatched_elements").asInt(0), (int) Math.ceil(want.length * 0.001));
    assertThat(mismatched).as(what + ": elements differing from the golden").isLessThanOrEqualTo(allowed);
    assertThat(maxAbs).as(what + ": largest difference in units")
        .isLessThanOrEqualTo(Math.max(maxUnits, tolerance.path("max_abs").asInt(0)));
  }
}
