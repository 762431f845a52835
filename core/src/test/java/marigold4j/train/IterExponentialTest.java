package marigold4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Map;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;

/**
 * IterExponential against {@code testdata/utils/lr_schedule.json} (the original class evaluated in Python). The JSON
 * records float64 values and no tolerance; 1e-12 allows for numpy's and Java's exp/log differing in the last bits.
 */
class IterExponentialTest {
  static final double ATOL = 1e-12;

  @Test
  void reproducesEveryRecordedSchedule() {
    JsonNode schedules = Golden.readJson(Golden.fixtures().resolve("utils/lr_schedule.json")).get("schedules");
    int checked = 0;
    double worst = 0;
    for (Iterator<Map.Entry<String, JsonNode>> it = schedules.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> s = it.next();
      JsonNode kw = s.getValue().get("kwargs");
      IterExponential lr = new IterExponential(kw.get("total_iter_length").asLong(), kw.get("final_ratio").asDouble(),
          kw.get("warmup_steps").asLong());
      for (Iterator<Map.Entry<String, JsonNode>> v = s.getValue().get("values").fields(); v.hasNext(); ) {
        Map.Entry<String, JsonNode> e = v.next();
        long step = Long.parseLong(e.getKey());
        double actual = lr.factor(step);
        assertThat(actual).as(s.getKey() + " step " + step).isCloseTo(e.getValue().asDouble(), within(ATOL));
        worst = Math.max(worst, Math.abs(actual - e.getValue().asDouble()));
        checked++;
      }
    }
    assertThat(checked).isEqualTo(57);
    assertThat(worst).isLessThanOrEqualTo(ATOL);
  }

  @Test
  void startsAtZeroDuringWarmupAndEndsAtTheFinalRatio() {
    IterExponential lr = new IterExponential(20000, 0.01, 100);
    assertThat(lr.learningRate(3e-5, 0)).isEqualTo(0.0);
    assertThat(lr.learningRate(3e-5, 100)).isEqualTo(3e-5);
    assertThat(lr.factor(20000)).isEqualTo(0.01);
    assertThat(lr.factor(1_000_000)).isEqualTo(0.01);
  }
}
