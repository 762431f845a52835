package marigold4j.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import marigold4j.random.NoiseSource;
import marigold4j.random.NumpyRandom;
import marigold4j.random.PythonRandom;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import marigold4j.train.data.LoaderDraws;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The seeded run's generators against the process-wide ones a seeded original run uses: torch's global generator
 * after {@code torch.manual_seed}, CPython's {@code random} and numpy's legacy generator.
 */
class TrainingRandomTest {
  @BeforeAll
  static void engine() {
    Golden.load("training/depth_marigold_zeros_warmup0", "case");
  }

  @Test
  void drawsPythonTorchsStreamAfterManualSeed() {
    try (TrainingRandom r = new TrainingRandom(0); PointerScope s = new PointerScope()) {
      // Python: torch.manual_seed(0); torch.randn(5) (docs/ENGINE.md, P_Parity)
      float[] python = {1.5409961f, -0.2934289f, -2.1787894f, 0.56843126f, -1.0845224f};
      assertThat(Tensors.toFloats(r.noise(TrainingRandom.Uniforms.PYTHON).randn(5))).containsExactly(python);
    }
  }

  @Test
  void continuesOneStreamPerGeneratorWithTheLoadersDrawsReplayedInTheOriginalsOrder() {
    long seed = 5;
    List<LoaderDraws> epochStart = List.of(new LoaderDraws(2, 7, true, 2, true, 0.5));
    List<LoaderDraws> nextBatch = List.of(new LoaderDraws(0, 0, false, 2, true, 0.5));
    long[] latent = {2, 4, 6, 8};
    Tensor[] got = new Tensor[4];
    double[] gotUniform = new double[2];
    try (TrainingRandom r = new TrainingRandom(seed); PointerScope s = new PointerScope()) {
      NoiseSource n = r.noise(TrainingRandom.Uniforms.PYTHON);
      r.replay(epochStart);
      got[0] = n.randnLike(torch.zeros(latent)).clone();
      gotUniform[0] = n.random();
      r.replay(nextBatch);
      got[1] = n.randnLike(torch.zeros(latent)).clone();
      got[2] = n.randn(1, 4, 3, 2).clone();
      gotUniform[1] = n.random();
      for (Tensor t : got) if (t != null) t.retainReference();
    }
    // the original's process: set_seed(5), then per batch its loader's draws and the noise, on the global generators
    torch.manual_seed(seed);
    PythonRandom random = new PythonRandom(seed);
    NumpyRandom numpy = new NumpyRandom(seed);
    NoiseSource.drawInt64();                                            // iter(hypersim loader): base seed
    NoiseSource.drawInt64();                                            // iter(vkitti loader): base seed
    numpy.shuffle(new ArrayList<>(Collections.nCopies(7, 0)));            // MixedDataLoader.create_split
    NoiseSource.drawInt64();                                            // RandomSampler seed
    originalItems(random, 2);
    Tensor want0 = torch.randn(latent);                                  // randn_like(rgb_latents)
    double wantUniform0 = random.random();                               // pyramid noise's random.random()
    originalItems(random, 2);
    Tensor want1 = torch.randn(latent);
    Tensor want2 = torch.randn(1, 4, 3, 2);
    double wantUniform1 = random.random();
    assertThat(Tensors.toFloats(got[0])).containsExactly(Tensors.toFloats(want0));
    assertThat(Tensors.toFloats(got[1])).containsExactly(Tensors.toFloats(want1));
    assertThat(Tensors.toFloats(got[2])).containsExactly(Tensors.toFloats(want2));
    assertThat(gotUniform).containsExactly(wantUniform0, wantUniform1);
  }

  /** load.py's per-item draws: random.random() > 0.5 flips, and RandomHorizontalFlip calls torch.rand(1) 3 times. */
  private static void originalItems(PythonRandom random, int items) {
    for (int i = 0; i < items; i++) {
      if (random.random() > 0.5) {
        for (int k = 0; k < 3; k++) torch.rand(1);
      }
    }
  }

  @Test
  void numpyUniformsFollowTheMixersShuffle() {
    try (TrainingRandom r = new TrainingRandom(9)) {
      r.replay(List.of(new LoaderDraws(2, 10, false, 0, false, 0.5)));
      NumpyRandom numpy = new NumpyRandom(9);
      numpy.shuffle(new ArrayList<>(Collections.nCopies(10, 0)));
      assertThat(r.noise(TrainingRandom.Uniforms.NUMPY).random()).isEqualTo(numpy.random());
    }
  }

  @Test
  void aRestoredStateContinuesEveryStreamExactly() {
    try (TrainingRandom r = new TrainingRandom(3); TrainingRandom other = new TrainingRandom(4);
        PointerScope s = new PointerScope()) {
      NoiseSource py = r.noise(TrainingRandom.Uniforms.PYTHON);
      NoiseSource np = r.noise(TrainingRandom.Uniforms.NUMPY);
      py.randn(7);
      py.random();
      np.random();
      TrainingRandom.State state = r.state();
      float[] normals = Tensors.toFloats(py.randn(3, 5));
      double a = py.random();
      double b = np.random();
      other.restore(state);
      assertThat(Tensors.toFloats(other.noise(TrainingRandom.Uniforms.PYTHON).randn(3, 5))).containsExactly(normals);
      assertThat(other.noise(TrainingRandom.Uniforms.PYTHON).random()).isEqualTo(a);
      assertThat(other.noise(TrainingRandom.Uniforms.NUMPY).random()).isEqualTo(b);
    }
  }
}
