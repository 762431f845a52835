package marigold4j.schedulers;

import java.util.Arrays;
import marigold4j.torch.Engine;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The training noise schedule and the inference timestep lists shared by {@link DDIMScheduler} and
 * {@link DDPMScheduler}, computed with the same float32 / float64 arithmetic as diffusers 0.30.2 on torch 1.13 and numpy,
 * so that the values are bit-identical to the reference fixtures.
 */
final class NoiseSchedule {
  private NoiseSchedule() {}

  /** {@code betas} as the scheduler's {@code __init__} computes them (float32). */
  static float[] betas(SchedulerConfig c) {
    int n = c.numTrainTimesteps();
    float[] betas;
    if (c.trainedBetas() != null) {
      double[] trained = c.trainedBetas();
      betas = new float[n];
      for (int i = 0; i < n; i++) betas[i] = (float) trained[i];
    } else {
      betas = switch (c.betaSchedule()) {
        case LINEAR -> linspace(c.betaStart(), c.betaEnd(), n);
        case SCALED_LINEAR -> {
          // torch.linspace(sqrt(start), sqrt(end), n, float32) ** 2: square roots in float64, the rest in float32
          float[] r = linspace(Math.sqrt(c.betaStart()), Math.sqrt(c.betaEnd()), n);
          for (int i = 0; i < n; i++) r[i] = r[i] * r[i];
          yield r;
        }
        case SQUAREDCOS_CAP_V2 -> squaredCosCapV2(n);
        case SIGMOID -> sigmoid(c.betaStart(), c.betaEnd(), n);
      };
    }
    return c.rescaleBetasZeroSnr() ? rescaleZeroTerminalSnr(betas) : betas;
  }

  /** {@code cumprod(1 - betas)}, float32 values accumulated in float64 as torch's CPU cumprod does. */
  static float[] alphasCumprod(float[] betas) {
    float[] out = new float[betas.length];
    double acc = 1.0;
    for (int i = 0; i < betas.length; i++) {
      float alpha = 1f - betas[i];
      acc *= alpha;
      out[i] = (float) acc;
    }
    return out;
  }

  /**
   * The inference timesteps of {@code set_timesteps(n)}, in denoising order. Emulates numpy exactly: {@code arange}
   * with a float step fills {@code start + i * delta} where delta is recovered from the second element, and
   * {@code round} rounds half to even.
   */
  static long[] timesteps(SchedulerConfig c, int n) {
    int total = c.numTrainTimesteps();
    if (n <= 0) throw new IllegalArgumentException("num_inference_steps must be positive, got " + n);
    if (n > total) {
      throw new IllegalArgumentException("num_inference_steps " + n + " cannot be larger than num_train_timesteps "
          + total);
    }
    long[] t;
    switch (c.timestepSpacing()) {
      case LINSPACE -> {
        // np.linspace(0, total - 1, n).round()[::-1]
        t = new long[n];
        double step = n > 1 ? (double) (total - 1) / (n - 1) : Double.NaN;
        for (int i = 0; i < n; i++) {
          double v = n == 1 ? 0.0 : (i == n - 1 ? total - 1 : i * step);
          t[n - 1 - i] = (long) Math.rint(v);
        }
      }
      case LEADING -> {
        // (np.arange(n) * (total // n))[::-1] + steps_offset
        int ratio = total / n;
        t = new long[n];
        for (int i = 0; i < n; i++) t[n - 1 - i] = (long) i * ratio + c.stepsOffset();
      }
      case TRAILING -> {
        // np.round(np.arange(total, 0, -total / n)) - 1
        double ratio = (double) total / n;
        int len = (int) Math.ceil((0.0 - total) / -ratio);
        double start = total;
        double delta = (start - ratio) - start;
        t = new long[len];
        for (int i = 0; i < len; i++) {
          double v = i == 0 ? start : (i == 1 ? start - ratio : start + i * delta);
          t[i] = (long) Math.rint(v) - 1;
        }
      }
      default -> throw new IllegalStateException(c.timestepSpacing().toString());
    }
    return t;
  }

  /**
   * sqrt(alphas_cumprod[t]) and sqrt(1 - alphas_cumprod[t]) for each of {@code timesteps}, in the dtype and on the
   * device of {@code like}, shaped {@code [B, 1, ..., 1]} to broadcast against it (add_noise / get_velocity).
   */
  static Tensor[] forwardCoefficients(float[] alphasCumprod, Tensor timesteps, Tensor like) {
    Tensor table = tensor(alphasCumprod).to(like.device(), Tensors.dtype(like));
    Tensor a = table.index_select(0, timesteps.to(like.device(), torch.ScalarType.Long).flatten());   // (B,)
    Tensor sqrtA = a.pow(F.s(0.5));
    Tensor sqrtOneMinusA = torch.rsub(a, F.s(1.0)).pow(F.s(0.5));
    long[] shape = new long[(int) like.dim()];
    Arrays.fill(shape, 1);
    shape[0] = -1;
    return new Tensor[] {sqrtA.view(shape), sqrtOneMinusA.view(shape)};                                 // (B, 1, .., 1)
  }

  /** sqrt(alphas_cumprod[t]) x0 + sqrt(1 - alphas_cumprod[t]) noise. */
  static Tensor addNoise(float[] alphasCumprod, Tensor originalSamples, Tensor noise, Tensor timesteps) {
    Tensor[] c = forwardCoefficients(alphasCumprod, timesteps, originalSamples);
    return c[0].mul(originalSamples).add(c[1].mul(noise));
  }

  /** sqrt(alphas_cumprod[t]) noise - sqrt(1 - alphas_cumprod[t]) sample. */
  static Tensor velocity(float[] alphasCumprod, Tensor sample, Tensor noise, Tensor timesteps) {
    Tensor[] c = forwardCoefficients(alphasCumprod, timesteps, sample);
    return c[0].mul(noise).sub(c[1].mul(sample));
  }

  /** A 1-D float32 CPU tensor holding {@code values}. */
  static Tensor tensor(float[] values) {
    return Tensors.fromFloats(values, values.length);
  }

  /**
   * torch.linspace in float32 exactly as torch 1.13's CPU kernel (AVX2 build) fills it, which is what produced the
   * reference schedules: the first half counts up from {@code start}, the second half down from {@code end}, each value
   * one fused multiply-add (the compiler contracts {@code start + step * i}); blocks of two 8-lane vectors take their
   * base that way and add {@code lane * step}, and the tail after the last full block is filled element by element.
   * Newer libtorch builds (vector width, no contraction) differ from this in the last bit of about a third of the
   * values, which is why it is not delegated to the linked library.
   */
  static float[] linspace(double startValue, double endValue, int n) {
    float[] out = new float[n];
    if (n == 0) return out;
    float start = (float) startValue;
    float end = (float) endValue;
    if (n == 1) {
      out[0] = start;
      return out;
    }
    float step = (end - start) / (float) (n - 1);
    int lanes = 8;
    int i = 0;
    for (; i <= n - 2 * lanes; i += 2 * lanes) {
      for (int v = i; v < i + 2 * lanes; v += lanes) {
        float base = linspaceElement(start, end, step, n, v);
        for (int l = 0; l < lanes; l++) out[v + l] = Math.fma((float) l, step, base);
      }
    }
    for (; i < n; i++) out[i] = linspaceElement(start, end, step, n, i);
    return out;
  }

  private static float linspaceElement(float start, float end, float step, int n, int i) {
    return i < n / 2 ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (n - i - 1), end);
  }

  /** betas_for_alpha_bar with the cosine alpha_bar: float64 arithmetic, then torch.tensor(..., float32). */
  private static float[] squaredCosCapV2(int n) {
    float[] betas = new float[n];
    for (int i = 0; i < n; i++) {
      double t1 = (double) i / n;
      double t2 = (double) (i + 1) / n;
      betas[i] = (float) Math.min(1 - alphaBarCosine(t2) / alphaBarCosine(t1), 0.999);
    }
    return betas;
  }

  private static double alphaBarCosine(double t) {
    double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
    return c * c;
  }

  /** DDPM's sigmoid schedule: sigmoid(linspace(-6, 6, n)) * (end - start) + start, in float32. */
  private static float[] sigmoid(double start, double end, int n) {
    Engine.init();
    try (PointerScope scope = new PointerScope()) {
      Tensor x = tensor(linspace(-6, 6, n));
      return Tensors.toFloats(torch.sigmoid(x).mul(F.s(end - start)).add(F.s(start)));
    }
  }

  /**
   * rescale_zero_terminal_snr (arXiv:2305.08891, Algorithm 1) in float32: shift and scale sqrt(alphas_cumprod) so
   * that the last one is 0 and the first unchanged, then undo the cumulative product.
   */
  private static float[] rescaleZeroTerminalSnr(float[] betas) {
    int n = betas.length;
    float[] sqrtBar = alphasCumprod(betas);
    for (int i = 0; i < n; i++) sqrtBar[i] = (float) Math.sqrt(sqrtBar[i]);
    float first = sqrtBar[0];
    float last = sqrtBar[n - 1];
    float scale = first / (first - last);
    float[] bar = new float[n];
    for (int i = 0; i < n; i++) {
      float s = (sqrtBar[i] - last) * scale;
      bar[i] = s * s;
    }
    float[] out = new float[n];
    out[0] = 1f - bar[0];
    for (int i = 1; i < n; i++) out[i] = 1f - bar[i] / bar[i - 1];
    return out;
  }
}
