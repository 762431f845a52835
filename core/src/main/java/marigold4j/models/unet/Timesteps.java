package marigold4j.models.unet;

import static marigold4j.torch.F.s;

import marigold4j.nn.Module;
import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * diffusers' {@code Timesteps}: the sinusoidal timestep embedding ({@code get_timestep_embedding} with scale 1 and
 * max period 10000). It has no parameters.
 */
public final class Timesteps extends Module {
  private final int numChannels;
  private final boolean flipSinToCos;
  private final double downscaleFreqShift;

  public Timesteps(int numChannels, boolean flipSinToCos, double downscaleFreqShift) {
    this.numChannels = numChannels;
    this.flipSinToCos = flipSinToCos;
    this.downscaleFreqShift = downscaleFreqShift;
  }

  /**
   * @param timesteps (B) timesteps, any numeric dtype
   * @return (B, numChannels) float32: {@code [cos | sin]} when flipped, else {@code [sin | cos]}
   */
  public Tensor forward(Tensor timesteps) {
    int half = numChannels / 2;
    // Same op order and float32 rounding as the original: -ln(10000) * arange(half) / (half - shift), then exp.
    Tensor exponent = F.arange(s(0), s(half), torch.ScalarType.Float)
        .to(timesteps.device(), torch.ScalarType.Float)
        .mul(s(-Math.log(10000.0)))
        .div(s(half - downscaleFreqShift));
    Tensor freqs = exponent.exp();                                                  // (half)
    Tensor args = timesteps.to(torch.ScalarType.Float).unsqueeze(1).mul(freqs.unsqueeze(0));   // (B, half)
    Tensor emb = flipSinToCos ? F.cat(-1, args.cos(), args.sin()) : F.cat(-1, args.sin(), args.cos());
    if (numChannels % 2 == 1) emb = F.pad2d(emb, 0, 1, 0, 0);                       // (B, numChannels)
    return emb;
  }
}
