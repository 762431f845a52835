package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code bench} on the tiny fixture architecture (the full-size one needs gigabytes and minutes): the report's
 * keys and the consistency of its figures. Times are never asserted against a bound.
 */
class BenchCommandTest {

  @Test
  void printsOneJsonLineWithTimesStagesAndPeakMemory() throws Exception {
    CliRun r = CliRun.of("bench", "--config", "tiny", "--width", "64", "--height", "48", "--runs", "2",
        "--warmup", "0", "--threads", "1", "--json");
    assertThat(r.exitCode()).as(r.err()).isZero();
    List<String> lines = r.out().lines().toList();
    assertThat(lines).hasSize(1);
    JsonNode j = new ObjectMapper().readTree(lines.get(0));
    assertThat(j.fieldNames()).toIterable().contains("median_s", "min_s", "max_s", "peak_rss_mb", "vae_encode_s",
        "unet_s", "vae_decode_s", "precision", "threads", "width", "height", "processing_res", "times_s");
    double min = j.path("min_s").asDouble();
    double median = j.path("median_s").asDouble();
    double max = j.path("max_s").asDouble();
    assertThat(min).isPositive();
    assertThat(median).isBetween(min, max);
    assertThat(j.path("times_s")).hasSize(2);
    double stages = j.path("vae_encode_s").asDouble() + j.path("unet_s").asDouble() + j.path("vae_decode_s").asDouble();
    assertThat(j.path("unet_s").asDouble()).isPositive();
    assertThat(stages).as("stages are part of each image's time").isLessThanOrEqualTo(max + 1e-3);
    assertThat(j.path("peak_rss_mb").asDouble()).isGreaterThanOrEqualTo(j.path("rss_after_build_mb").asDouble())
        .isGreaterThan(10);
    assertThat(j.path("precision").asText()).isEqualTo("float32");
    assertThat(j.path("threads").asInt()).isEqualTo(1);
    assertThat(j.path("width").asInt()).isEqualTo(64);
    assertThat(j.path("height").asInt()).isEqualTo(48);
    assertThat(j.path("processing_res").asInt()).isEqualTo(64);
    assertThat(j.path("runs").asInt()).isEqualTo(2);
    assertThat(j.path("config").asText()).isEqualTo("tiny");
    HostInfo host = HostInfo.current();
    assertThat(j.path("cpu").asText()).isEqualTo(host.model()).isNotBlank();
    assertThat(j.path("logical_cpus").asInt()).isEqualTo(Runtime.getRuntime().availableProcessors());
    assertThat(j.path("cpu_features")).hasSize(host.features().size());
    assertThat(j.path("allocator").asText()).isEqualTo(NativeAllocator.current().label());
    String spin = System.getenv("OPENBLAS_THREAD_TIMEOUT");
    assertThat(j.has("openblas_thread_timeout")).isTrue();
    assertThat(j.path("openblas_thread_timeout").isNull() ? null : j.path("openblas_thread_timeout").asText())
        .isEqualTo(spin);
  }

  @Test
  void aNegativeThreadCountIsAOneLineError() {
    CliRun r = CliRun.of("bench", "--config", "tiny", "--threads", "-3");
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).isEqualTo("error: --threads must be 0 (all cores) or more, got -3" + System.lineSeparator());
  }

  @Test
  void namesTheMallocWhoseLibraryIsMapped(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
    java.nio.file.Path maps = tmp.resolve("maps");
    String glibc = "7f1c2a000000-7f1c2a028000 r--p 00000000 08:01 1234  /usr/lib/x86_64-linux-gnu/libc.so.6";
    String anon = "7f1c2b000000-7f1c2b100000 rw-p 00000000 00:00 0 ";
    String heap = "55d4c6e5e000-55d4c6e7f000 rw-p 00000000 00:00 0                          [heap]";
    java.nio.file.Files.writeString(maps, String.join("\n", glibc, anon, heap,
        "7f1c2c000000-7f1c2c010000 r-xp 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4.5.9"));
    assertThat(NativeAllocator.fromMaps(maps)).isEqualTo(NativeAllocator.TCMALLOC);
    java.nio.file.Files.writeString(maps, String.join("\n", glibc,
        "7f1c2c000000-7f1c2c010000 r-xp 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2", anon));
    assertThat(NativeAllocator.fromMaps(maps)).isEqualTo(NativeAllocator.JEMALLOC);
    java.nio.file.Files.writeString(maps, String.join("\n", glibc, anon, heap,
        "7f1c2d000000-7f1c2d010000 r-xp 00000000 08:01 77 /opt/jemalloc-docs/readme.txt"));
    assertThat(NativeAllocator.fromMaps(maps)).as("only the file name counts").isEqualTo(NativeAllocator.SYSTEM);
    assertThat(NativeAllocator.fromMaps(tmp.resolve("missing"))).isEqualTo(NativeAllocator.SYSTEM);
    assertThat(NativeAllocator.SYSTEM.label()).isEqualTo("system");
  }

  @Test
  void readsTheCpuModelAndTheKernelRelevantFeaturesFromCpuinfo(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
      throws Exception {
    java.nio.file.Path cpuinfo = tmp.resolve("cpuinfo");
    java.nio.file.Files.writeString(cpuinfo, String.join("\n",
        "processor\t: 0", "vendor_id\t: GenuineIntel", "model name\t: Intel(R) Xeon(R) Processor",
        "flags\t\t: fpu sse avx2 avx512f avx512bw amx_tile amx_bf16 avx512_bf16 avx512_vnni", "",
        "processor\t: 1", "model name\t: Intel(R) Xeon(R) Processor", "flags\t\t: fpu sse avx2", ""));
    HostInfo h = HostInfo.parse(cpuinfo);
    assertThat(h.model()).isEqualTo("Intel(R) Xeon(R) Processor");
    assertThat(h.features()).containsExactly("avx2", "avx512f", "avx512_bf16", "amx_bf16");
    assertThat(h.describe()).startsWith("Intel(R) Xeon(R) Processor, ").endsWith(", avx2 avx512f avx512_bf16 amx_bf16");

    HostInfo none = HostInfo.parse(tmp.resolve("missing"));
    assertThat(none.model()).isEqualTo(System.getProperty("os.arch"));
    assertThat(none.features()).isEmpty();
  }

  @Test
  void halfPrecisionRunsInBfloat16OnTheCpuAndPrintsAReadableReport() {
    CliRun r = CliRun.of("bench", "--config", "tiny", "--width", "48", "--height", "64", "--runs", "1",
        "--warmup", "1", "--half-precision");
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out()).contains("bfloat16", "seconds/image: median", "VAE encode", "UNet", "VAE decode",
        "peak RSS", "48x64 (processing_res 64)",
        "host: " + HostInfo.current().describe() + "; malloc: " + NativeAllocator.current().label()
            + "; OPENBLAS_THREAD_TIMEOUT=" + java.util.Objects.requireNonNullElse(
                System.getenv("OPENBLAS_THREAD_TIMEOUT"), "unset"));
    assertThat(r.out().contains("note: OpenBLAS workers spin")).isEqualTo(System.getenv("OPENBLAS_THREAD_TIMEOUT") == null);
    if (NativeAllocator.current() == NativeAllocator.SYSTEM) {
      assertThat(r.out()).contains("note: the system malloc", "libtcmalloc-minimal4");
    } else {
      assertThat(r.out()).doesNotContain("note: the system malloc");
    }
  }

  @Test
  void comparePrecisionsTimesFp32AndBf16AlternatedAndSaysWhichIsFaster() throws Exception {
    CliRun r = CliRun.of("bench", "--config", "tiny", "--width", "48", "--height", "32", "--runs", "2",
        "--warmup", "1", "--compare-precisions", "--json");
    assertThat(r.exitCode()).as(r.err()).isZero();
    JsonNode j = new ObjectMapper().readTree(r.out().strip());
    double fp32 = j.path("float32_median_s").asDouble();
    double bf16 = j.path("bfloat16_median_s").asDouble();
    assertThat(fp32).isPositive();
    assertThat(bf16).isPositive();
    // the JSON rounds every value to 1e-4: the ratio of the rounded medians can differ from the rounded ratio of
    // the exact ones by the propagated rounding, which matters for the tiny model's millisecond timings
    double rounding = 0.5e-4;
    double tolerance = (bf16 / fp32) * (rounding / fp32 + rounding / bf16) + rounding;
    assertThat(j.path("ratio").asDouble()).isCloseTo(bf16 / fp32,
        org.assertj.core.api.Assertions.within(tolerance));
    assertThat(j.path("runs").asInt()).isEqualTo(2);
    CliRun text = CliRun.of("bench", "--config", "tiny", "--width", "48", "--height", "32", "--runs", "1",
        "--warmup", "0", "--compare-precisions");
    assertThat(text.exitCode()).as(text.err()).isZero();
    assertThat(text.out()).contains("float32:", "bfloat16:", "bfloat16 takes").containsAnyOf("is faster",
        "stay on fp32");
  }

  @Test
  void benchmarksARealCheckpointAndReportsItsLoadTime() throws Exception {
    CliRun r = CliRun.of("bench", "--checkpoint", PredictCommandTest.TINY_DEPTH.toString(), "--width", "40",
        "--height", "32", "--runs", "1", "--warmup", "0", "--threads", "1", "--json");
    assertThat(r.exitCode()).as(r.err()).isZero();
    JsonNode j = new ObjectMapper().readTree(r.out().strip());
    assertThat(j.path("load_s").asDouble()).isPositive();
    assertThat(j.has("build_s")).isFalse();
    assertThat(j.path("checkpoint").asText()).endsWith("tiny-marigold-depth");
    assertThat(j.path("median_s").asDouble()).isPositive();
    assertThat(r.err()).contains("Loading ");

    CliRun missing = CliRun.of("bench", "--checkpoint", "/nonexistent/ckpt", "--runs", "1", "--offline");
    assertThat(missing.exitCode()).isNotZero();
    assertThat(missing.err()).contains("/nonexistent/ckpt").doesNotContain("Exception");
  }

  @Test
  void rejectsBadSizesWithOneLine() {
    CliRun r = CliRun.of("bench", "--width", "0", "--runs", "1");
    assertThat(r.exitCode()).isNotZero();
    assertThat(r.err().strip()).startsWith("error: --width and --height").doesNotContain("\n")
        .doesNotContain("Exception");
    CliRun runs = CliRun.of("bench", "--runs", "0");
    assertThat(runs.exitCode()).isNotZero();
    assertThat(runs.err()).contains("--runs must be at least 1");
  }

  @Test
  void helpExplainsEveryOption() {
    CliRun r = CliRun.of("bench", "--help");
    assertThat(r.exitCode()).isZero();
    assertThat(r.out()).contains("--checkpoint", "--offline");
    assertThat(r.out()).contains("--width", "--height", "--runs", "--warmup", "--half-precision", "--threads", "--json",
        "--device", "--seed").doesNotContain("--config");
  }
}
