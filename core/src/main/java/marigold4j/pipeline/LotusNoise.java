package marigold4j.pipeline;

import marigold4j.random.NoiseSource;
import marigold4j.torch.Engine;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Generator;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Lotus draws from two torch generators: the pipeline's {@code generator} argument gives Lotus-G's noise latent, and
 * torch's global generator gives the VAE posterior sample ({@code latent_dist.sample()} passes no generator). infer.py
 * seeds both with {@code --seed}, so with equal shapes their draws are bit-identical and stay so over a folder of
 * images. As a {@link NoiseSource} this is the global stream.
 */
public final class LotusNoise implements NoiseSource {
  private final NoiseSource generator;
  private final NoiseSource global;

  private LotusNoise(NoiseSource generator, NoiseSource global) {
    this.generator = generator;
    this.global = global;
  }

  /**
   * Both streams seeded with {@code seed}, as infer.py seeds them ({@code seed_all(seed)} and
   * {@code torch.Generator().manual_seed(seed)}); private generators, so the engine's global generator is untouched.
   */
  public static LotusNoise seeded(long seed) {
    Engine.init();
    return new LotusNoise(new GeneratorNoise(F.generator(seed)), new GeneratorNoise(F.generator(seed)));
  }

  /** Both streams from one source, in the original's call order: Lotus-G's noise latent, then the posterior sample. */
  public static LotusNoise of(NoiseSource source) {
    return source instanceof LotusNoise l ? l : new LotusNoise(source, source);
  }

  /** Lotus-G's initial noise latent, {@code randn_tensor(shape, generator)}. */
  public Tensor latentNoise(long... shape) {
    return generator.randn(shape);
  }

  /** The VAE posterior's {@code eps}, {@code randn_tensor(mean.shape)} from the global generator. */
  public Tensor posteriorNoise(long... shape) {
    return global.randn(shape);
  }

  @Override
  public Tensor randnLike(Tensor x) {
    return global.randnLike(x);
  }

  @Override
  public Tensor randn(long... shape) {
    return global.randn(shape);
  }

  @Override
  public double random() {
    return global.random();
  }

  /** float32 normal draws on the CPU from one private generator (bit-identical to Python torch for the same seed). */
  private record GeneratorNoise(Generator gen) implements NoiseSource {
    @Override
    public Tensor randnLike(Tensor x) {
      return randn(Tensors.shape(x)).to(x.device(), Tensors.dtype(x));
    }

    @Override
    public Tensor randn(long... shape) {
      return F.randn(shape, gen, torch.ScalarType.Float);
    }

    @Override
    public double random() {
      throw new UnsupportedOperationException("Lotus draws no uniform numbers");
    }
  }
}
