package marigold4j.random;

import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Where the pipelines' random draws come from, in call order: {@code torch.randn_like}, {@code torch.randn} and a
 * uniform double ({@code random.random()} or {@code np.random.random()}, whichever the original calls). The default
 * {@link #torch(UniformSource)} uses the engine's global generator, which is bit-identical to Python torch on CPU for
 * the same seed and call order; tests inject recorded draws instead ({@link RecordedNoise}).
 */
public interface NoiseSource {
  /** {@code torch.randn_like(x)}: standard normal noise with x's shape, dtype and device. */
  Tensor randnLike(Tensor x);

  /** {@code torch.randn(shape)}: standard normal float32 noise on the CPU. */
  Tensor randn(long... shape);

  /** The next uniform double in [0, 1). */
  double random();

  /**
   * A torch DataLoader iterator was created: it draws one int64 base seed from the global generator. The pipelines
   * call this where the original iterates a DataLoader, so seeded runs stay aligned with the original's draws.
   * Replayed draws ignore it (the default).
   */
  default void dataLoaderIterator() {}

  /** One int64 from the engine's global generator, as {@code torch.empty((), dtype=torch.int64).random_()}. */
  static void drawInt64() {
    try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
      F.drawInt64(null);
    }
  }

  /**
   * The engine's global torch generator plus the given uniform source; {@code iteratorsPerDataLoader} base-seed draws
   * are made per {@link #dataLoaderIterator()} (1 for a plain loop; run.py wraps its loader in {@code tqdm.auto},
   * whose constructor already calls {@code iter()} once, so 2 there).
   */
  static NoiseSource torch(UniformSource uniform, int iteratorsPerDataLoader) {
    NoiseSource base = torch(uniform);
    return new NoiseSource() {
      @Override
      public Tensor randnLike(Tensor x) {
        return base.randnLike(x);
      }

      @Override
      public Tensor randn(long... shape) {
        return base.randn(shape);
      }

      @Override
      public double random() {
        return base.random();
      }

      @Override
      public void dataLoaderIterator() {
        for (int i = 0; i < iteratorsPerDataLoader; i++) drawInt64();
      }
    };
  }

  /** The engine's global torch generator plus the given uniform source. */
  static NoiseSource torch(UniformSource uniform) {
    return new NoiseSource() {
      @Override
      public Tensor randnLike(Tensor x) {
        return torch.randn_like(x);
      }

      @Override
      public Tensor randn(long... shape) {
        return torch.randn(shape);
      }

      @Override
      public double random() {
        return uniform.random();
      }

      @Override
      public void dataLoaderIterator() {
        drawInt64();
      }
    };
  }
}
