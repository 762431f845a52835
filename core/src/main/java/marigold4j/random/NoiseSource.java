package marigold4j.random;

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
    };
  }
}
