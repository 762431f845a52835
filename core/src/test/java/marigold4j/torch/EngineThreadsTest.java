package marigold4j.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.openblas.global.openblas_nolapack;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** OpenBLAS runs on one thread inside torch's parallel loops (attention) and gets its pool back afterwards. */
class EngineThreadsTest {
  @Test
  void singleThreadedBlasInsideAndTheCountRestoredAfterwardsEvenOnFailure() {
    Engine.setThreads(2);
    assertThat(openblas_nolapack.blas_get_num_threads()).isEqualTo(2);
    int inside = Engine.withSingleThreadedBlas(openblas_nolapack::blas_get_num_threads);
    assertThat(inside).isEqualTo(1);
    assertThat(openblas_nolapack.blas_get_num_threads()).isEqualTo(2);
    assertThatThrownBy(() -> Engine.withSingleThreadedBlas(() -> {
      throw new IllegalStateException("boom");
    })).hasMessage("boom");
    assertThat(openblas_nolapack.blas_get_num_threads()).isEqualTo(2);
    assertThat(torch.get_num_threads()).as("torch's own pool is untouched").isEqualTo(2);
  }
}
