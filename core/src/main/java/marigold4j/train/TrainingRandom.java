package marigold4j.train;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import marigold4j.random.NoiseSource;
import marigold4j.random.NumpyRandom;
import marigold4j.random.PythonRandom;
import marigold4j.torch.Engine;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import marigold4j.train.data.LoaderDraws;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The process-wide random generators of a seeded original run, as {@code accelerate.utils.set_seed(seed)} leaves
 * them: torch's CPU generator ({@code torch.manual_seed}), numpy's legacy generator ({@code np.random.seed}) and
 * Python's {@code random} ({@code random.seed}). The training noise is drawn from them micro-batch after micro-batch,
 * one continuous stream per generator, and the draws the original's data loaders make from the same generators are
 * replayed in between ({@link #replay}), so that each noise draw happens at the position of the stream at which the
 * original (run on the CPU) makes it. Their states go into every checkpoint ({@link #state()}), so a resumed run
 * continues the streams exactly.
 *
 * <p>What stays different from the original, and why:
 * <ul>
 *   <li>The data order. The original's {@code RandomSampler} permutes each dataset with a generator seeded by a draw
 *       from torch's stream at the loader's first batch of the epoch, i.e. after all the noise drawn before that
 *       batch. marigold4j's loader plans and decodes batches ahead of the training loop on background threads, before
 *       that noise exists, so it shuffles with a generator of its own; the sampler's draw is still replayed here.
 *   <li>The flips and the mixer's order under pyramid noise. The original draws the flips from Python's
 *       {@code random}, which {@code train.py}'s pyramid noise also draws from, and the mixer's order from numpy's
 *       generator, which GeoWizard's pyramid noise also draws from. The loader draws them when it plans, ahead of the
 *       noise, from generators of its own seeded the same way: identical to the original's with zeros or gaussian
 *       noise, different once pyramid noise has drawn. The noise streams here replay the loader's draws and so stay
 *       the original's in every case.
 *   <li>The device. On a GPU the original's {@code randn_like} of a CUDA latent draws from the CUDA generator; these
 *       streams are the CPU generator's, as the original run on the CPU draws them.
 * </ul>
 */
public final class TrainingRandom implements AutoCloseable {
  /** Which generator the uniform draws of pyramid noise come from. */
  public enum Uniforms {
    /** Python's {@code random}: {@code training/util/noise.py} (Marigold / Stable Diffusion training). */
    PYTHON,
    /** numpy's legacy generator: {@code pyramid_noise_like} of GeoWizard's {@code train_depth_normal.py}. */
    NUMPY
  }

  /** The generators' states, as saved in a checkpoint's {@code random_states.json}. */
  public record State(@JsonProperty("torch_cpu") String torchCpu, @JsonProperty("python") int[] python,
      @JsonProperty("numpy") int[] numpy) {}

  private final Generator torchCpu;
  private final PythonRandom python;
  private final NumpyRandom numpy;

  /** Seeded as {@code set_seed(seed)}; numpy takes the low 32 bits (as the data loader does). */
  public TrainingRandom(long seed) {
    Engine.init();
    this.torchCpu = torch.createCPUGenerator(seed);
    torchCpu.retainReference(); // lives as long as this object, whatever PointerScope it was made in
    this.python = new PythonRandom(seed);
    this.numpy = new NumpyRandom(seed & 0xffffffffL);
  }

  /**
   * The noise source of the training loop: normals from torch's stream, uniforms from {@code uniforms}'s.
   */
  public NoiseSource noise(Uniforms uniforms) {
    return new NoiseSource() {
      @Override
      public Tensor randnLike(Tensor x) {
        // randn_like of a CPU tensor: the same draws as randn of its shape and dtype
        return F.randn(Tensors.shape(x), torchCpu, Tensors.dtype(x)).to(x.device(), Tensors.dtype(x));
      }

      @Override
      public Tensor randn(long... shape) {
        return F.randn(shape, torchCpu, torch.ScalarType.Float);
      }

      @Override
      public double random() {
        return uniforms == Uniforms.NUMPY ? numpy.random() : python.random();
      }

      @Override
      public void dataLoaderIterator() {
        drawInt64();
      }
    };
  }

  /**
   * Makes the draws the original's data loaders make to produce a batch ({@link LoaderDraws}, in order), on these
   * generators. Call it after the previous micro-batch's noise and before this one's.
   */
  public void replay(List<LoaderDraws> draws) {
    for (LoaderDraws d : draws) {
      for (int i = 0; i < d.newIterators(); i++) drawInt64();          // DataLoader iterator base seeds
      if (d.splitLength() > 1) {
        // np.random.shuffle's draws depend on the list's length only
        numpy.shuffle(new ArrayList<>(Collections.nCopies(d.splitLength(), Boolean.TRUE)));
      }
      if (d.samplerSeed()) drawInt64();                                // RandomSampler's seed
      if (!d.transform()) continue;
      for (int i = 0; i < d.items(); i++) {
        if (python.random() > 1 - d.hflipProb()) {
          // RandomHorizontalFlip(p=1.0)(img) still draws torch.rand(1): on rgb, depth and normal image
          for (int k = 0; k < 3; k++) F.rand(new long[] {1}, torchCpu);
        }
      }
    }
  }

  /** {@code torch.empty((), dtype=torch.int64).random_()}, as DataLoader iterators and samplers draw their seeds. */
  private void drawInt64() {
    F.drawInt64(torchCpu);
  }

  /** A copy of the generators' states. */
  public State state() {
    Tensor t = torchCpu.get_state();
    String torchState = Base64.getEncoder().encodeToString(Tensors.toBytes(t));
    return new State(torchState, python.getState(), numpy.getState());
  }

  /** Continues from a state taken with {@link #state()}. */
  public void restore(State state) {
    if (state == null || state.torchCpu() == null || state.python() == null || state.numpy() == null) {
      throw new IllegalArgumentException("incomplete random state: " + state);
    }
    byte[] bytes = Base64.getDecoder().decode(state.torchCpu());
    torchCpu.set_state(Tensors.fromBytes(bytes, bytes.length));
    python.setState(state.python());
    numpy.setState(state.numpy());
  }

  @Override
  public void close() {
    torchCpu.releaseReference();
  }
}
