package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MainTest {
  @Test
  void helpListsTheCommands() {
    CliRun r = CliRun.of("--help");
    assertThat(r.exitCode()).isZero();
    assertThat(r.out()).contains("inspect");
  }

  @Test
  void unknownOptionIsAUsageErrorNotAStackTrace() {
    CliRun r = CliRun.of("--no-such-option");
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains("Unknown option").doesNotContain("Exception");
  }
}
