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

  @Test
  void unexpectedFailuresAreOneLineNamingTheEngineErrorNotItsBacktrace() {
    RuntimeException engine = new RuntimeException("\"compute_index_ranges_weights\" not implemented for 'BFloat16'\n"
        + "Exception raised from operator() at aten/src/ATen/native/cpu/UpSampleKernel.cpp:1365 (most recent call "
        + "first):\nframe #0: c10::Error::Error(...)\nframe #1: <unknown function>");
    assertThat(Main.unexpected(engine))
        .isEqualTo("PyTorch engine error: \"compute_index_ranges_weights\" not implemented for 'BFloat16'");
    assertThat(Main.unexpected(new IllegalStateException("bad state\nmore")))
        .isEqualTo("IllegalStateException: bad state");
    assertThat(Main.unexpected(new NullPointerException())).isEqualTo("NullPointerException");
  }
}
