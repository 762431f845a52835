package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import marigold4j.pipeline.Precision;
import org.junit.jupiter.api.Test;

/** {@code --precision} and {@code --half-precision}: what each picks on which hardware, and the warning when slow. */
class RuntimeOptionsTest {
  static final HostInfo AVX2_ONLY = new HostInfo("AMD EPYC 7B13", List.of("avx2"), 2);
  static final HostInfo ZEN5 = new HostInfo("AMD EPYC", List.of("avx2", "avx512f", "avx512_bf16"), 2);
  static final HostInfo AMX = new HostInfo("Intel Xeon", List.of("avx2", "avx512f", "avx512_bf16", "amx_bf16"), 2);

  @Test
  void autoPicksBf16OnlyWhereTheCpuHasItNatively() {
    assertThat(RuntimeOptions.choose("auto", false, false, AVX2_ONLY).precision()).isEqualTo(Precision.FP32);
    assertThat(RuntimeOptions.choose("auto", false, false, ZEN5).precision()).isEqualTo(Precision.BF16);
    assertThat(RuntimeOptions.choose("auto", false, false, AMX).precision()).isEqualTo(Precision.BF16);
    assertThat(RuntimeOptions.choose("auto", false, true, AVX2_ONLY).precision()).isEqualTo(Precision.FP16);
    assertThat(RuntimeOptions.choose("auto", false, false, AVX2_ONLY).warning()).isNull();
  }

  @Test
  void halfPrecisionKeepsItsDocumentedMeaningAndWarnsWhereItIsSlow() {
    RuntimeOptions.Choice slow = RuntimeOptions.choose(null, true, false, AVX2_ONLY);
    assertThat(slow.precision()).isEqualTo(Precision.BF16);
    assertThat(slow.warning()).contains("AMD EPYC 7B13").contains("no native bfloat16").contains("--precision auto");
    assertThat(RuntimeOptions.choose(null, true, false, ZEN5).warning()).isNull();
    assertThat(RuntimeOptions.choose(null, true, true, AVX2_ONLY).precision()).isEqualTo(Precision.FP16);
    assertThat(RuntimeOptions.choose(null, false, false, AVX2_ONLY).precision()).isEqualTo(Precision.FP32);
    assertThat(RuntimeOptions.choose("bf16", false, false, AVX2_ONLY).warning()).contains("emulated");
    assertThat(RuntimeOptions.choose("fp16", false, false, ZEN5).warning()).contains("float16");
  }

  @Test
  void badOrConflictingChoicesAreOneLineBeforeAnythingLoads() {
    CliRun bad = CliRun.of("predict", "--offline", "--checkpoint", "org/x", "--precision", "fp8", "-o", "o", "x.png");
    assertThat(bad.exitCode()).isEqualTo(2);
    assertThat(bad.err()).contains("--precision must be fp32, bf16, fp16 or auto, got 'fp8'");
    CliRun both = CliRun.of("predict", "--offline", "--checkpoint", "org/x", "--precision", "bf16",
        "--half-precision", "-o", "o", "x.png");
    assertThat(both.exitCode()).isEqualTo(2);
    assertThat(both.err()).contains("either --half-precision or --precision");
    assertThatThrownBy(() -> RuntimeOptions.choose("int8", false, false, ZEN5))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
