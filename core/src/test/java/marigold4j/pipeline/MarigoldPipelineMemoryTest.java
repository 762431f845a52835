package marigold4j.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import marigold4j.random.NoiseSource;
import marigold4j.random.PythonRandom;
import marigold4j.testing.Golden;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** A run over many images keeps native memory flat: every call frees what it allocated. */
class MarigoldPipelineMemoryTest {
  @Test
  void twoHundredImagesKeepNativeMemoryFlat() {
    try (MarigoldPipeline pipe = MarigoldPipeline.load(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth"))) {
      // gaussian noise and 2 steps exercise the noise draws and the per-step scopes as well
      MarigoldOptions o = MarigoldOptions.e2eDefaults(Modality.DEPTH).withProcessingRes(0)
          .withNoise(NoiseType.GAUSSIAN).withDenoisingSteps(2);
      NoiseSource noise = NoiseSource.torch(new PythonRandom(0));
      long pointersAfterWarmup = 0;
      long bytesAfterWarmup = 0;
      for (int i = 0; i < 200; i++) {
        try (PointerScope scope = new PointerScope()) {
          Tensor rgb = torch.randint(0, 256, new long[] {3, 24 + i % 9, 32 + i % 7})
              .to(torch.ScalarType.Byte);                           // varying sizes, as a folder of photos has
          Prediction p = pipe.predict(rgb, o, noise);
          assertThat(p.values()).hasSize(p.height() * p.width());
        }
        if (i == 19) {
          pointersAfterWarmup = Pointer.totalCount();
          bytesAfterWarmup = nativeResidentBytes();
        }
      }
      assertThat(Pointer.totalCount()).as("live native pointers after 200 images vs after 20")
          .isLessThanOrEqualTo(pointersAfterWarmup);
      assertThat(nativeResidentBytes() - bytesAfterWarmup).as("resident bytes grown over the last 180 images")
          .isLessThan(64L << 20);
    }
  }

  /**
   * The process's resident bytes less the Java heap's committed bytes: what native allocations hold. The JVM's heap
   * grows with the garbage of a long test run (in the full suite it pushed the plain RSS growth to 71 MB once, with
   * the live native pointer count flat), and it is not what this test is about.
   */
  private static long nativeResidentBytes() {
    return Pointer.physicalBytes() - Runtime.getRuntime().totalMemory();
  }
}
