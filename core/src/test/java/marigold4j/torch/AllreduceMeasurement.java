package marigold4j.torch;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bytedeco.pytorch.Tensor;

/**
 * Measures the bucketed gradient all-reduce ({@link ProcessGroups#allreduceMean}) between worker JVMs started with
 * torchrun's environment, for docs/distributed.md; never run by the build. Arguments: megabytes of float32
 * "gradients" (in 16 MB tensors), repetitions.
 */
public final class AllreduceMeasurement {
  private AllreduceMeasurement() {}

  public static void main(String[] args) {
    long mb = Long.parseLong(args[0]);
    int reps = Integer.parseInt(args[1]);
    ProcessGroups.Config c = ProcessGroups.Config.fromEnvironment(System.getenv(), ProcessGroups.BackendKind.GLOO,
        Duration.ofSeconds(120)).orElseThrow();
    try (ProcessGroups g = ProcessGroups.init(c)) {
      List<Tensor> grads = new ArrayList<>();
      for (long done = 0; done < mb; done += 16) grads.add(F.randn(new long[] {4L << 20}, org.bytedeco.pytorch.global.torch.createCPUGenerator(1), org.bytedeco.pytorch.global.torch.ScalarType.Float));
      g.barrier("start");
      for (int i = 0; i < reps; i++) {
        long t0 = System.nanoTime();
        g.allreduceMean(grads, ProcessGroups.DEFAULT_BUCKET_BYTES);
        double ms = (System.nanoTime() - t0) / 1e6;
        if (g.rank() == 0) {
          System.out.printf(Locale.ROOT, "allreduce-mean of %d MB in 25 MB buckets: %.0f ms (%.2f GB/s)%n", mb, ms,
              mb / 1024.0 / (ms / 1000));
        }
      }
    }
    System.exit(0);
  }
}
