package marigold4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The CPU a benchmark ran on, as Linux reports it in {@code /proc/cpuinfo}: the project's machines are not all the same
 * host, and times are only comparable on one. Elsewhere the model is {@code os.arch} and no features are listed.
 *
 * @param model the first {@code model name} line (e.g. "AMD EPYC ..."), or the JVM's {@code os.arch}
 * @param features the CPU features that decide which kernels oneDNN and OpenBLAS pick, in {@link #FEATURES} order
 * @param logicalCpus processors available to this JVM
 */
record HostInfo(String model, List<String> features, int logicalCpus) {
  /** AVX-512, its bf16 / fp16 extensions and AMX: the ISA levels behind the fp32 and bf16 kernels. */
  static final List<String> FEATURES = List.of("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16");

  static HostInfo current() {
    return parse(Path.of("/proc/cpuinfo"));
  }

  /** Reads a cpuinfo file; a missing or unreadable one gives {@code os.arch} and no features. */
  static HostInfo parse(Path cpuinfo) {
    String model = null;
    Set<String> flags = Set.of();
    try {
      for (String line : Files.readAllLines(cpuinfo)) {
        int colon = line.indexOf(':');
        if (colon < 0) continue;
        String key = line.substring(0, colon).trim();
        String value = line.substring(colon + 1).trim();
        if (key.equals("model name") && model == null) model = value;
        if (key.equals("flags") && flags.isEmpty()) flags = Set.copyOf(Arrays.asList(value.split("\\s+")));
      }
    } catch (IOException | RuntimeException e) {
      // not Linux, or not readable: the fallback above
    }
    Set<String> present = flags;
    return new HostInfo(model != null ? model : System.getProperty("os.arch"),
        FEATURES.stream().filter(present::contains).collect(Collectors.toList()),
        Runtime.getRuntime().availableProcessors());
  }

  /** One line for the text report, e.g. "AMD EPYC 9R45, 2 CPUs, avx2 avx512f avx512_bf16". */
  String describe() {
    return model + ", " + logicalCpus + (logicalCpus == 1 ? " CPU" : " CPUs")
        + (features.isEmpty() ? "" : ", " + String.join(" ", features));
  }
}
