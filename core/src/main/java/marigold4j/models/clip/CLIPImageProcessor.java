package marigold4j.models.clip;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ConfigJson;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The image-encoder input as GeoWizard prepares it from a {@code feature_extractor/preprocessor_config.json}: the
 * whole image, mapped from [-1, 1] to [0, 1], resized (bicubic, antialiased, no aspect-preserving resize and no
 * center crop) to {@code crop_size}, then {@code (x - image_mean) / image_std}. This is not transformers'
 * {@code CLIPImageProcessor.__call__}, which would resize the short side and crop.
 */
public final class CLIPImageProcessor {
  // transformers' OPENAI_CLIP_MEAN / OPENAI_CLIP_STD, the defaults when the config omits them.
  private static final double[] CLIP_MEAN = {0.48145466, 0.4578275, 0.40821073};
  private static final double[] CLIP_STD = {0.26862954, 0.26130258, 0.27577711};

  /**
   * The keys of {@code preprocessor_config.json} this processor uses.
   *
   * @param cropSize an integer (old files) or {@code {"height": h, "width": w}}
   */
  public record Config(
      @JsonProperty("crop_size") JsonNode cropSize,
      @JsonProperty("image_mean") double[] imageMean,
      @JsonProperty("image_std") double[] imageStd) {}

  private final int cropHeight;
  private final int cropWidth;
  private final float[] mean;
  private final float[] std;

  private CLIPImageProcessor(int cropHeight, int cropWidth, double[] mean, double[] std) {
    if (mean.length != std.length || mean.length == 0) {
      throw new CheckpointException("config keys 'image_mean' / 'image_std': " + mean.length + " vs " + std.length
          + " values");
    }
    this.cropHeight = cropHeight;
    this.cropWidth = cropWidth;
    // GeoWizard builds these with torch.as_tensor, i.e. float32; normalising with the fp32 values matches it.
    this.mean = new float[mean.length];
    this.std = new float[std.length];
    for (int i = 0; i < mean.length; i++) {
      this.mean[i] = (float) mean[i];
      this.std[i] = (float) std[i];
    }
  }

  /** Reads {@code preprocessor_config.json} from a {@code feature_extractor/} folder. */
  public static CLIPImageProcessor load(Path featureExtractorDir) {
    Path file = featureExtractorDir.resolve("preprocessor_config.json");
    Config c = ConfigJson.read(file, Config.class);
    int h = 224;
    int w = 224;
    JsonNode crop = c.cropSize();
    if (crop != null && crop.canConvertToInt()) {
      h = w = crop.asInt();
    } else if (crop != null && crop.path("height").canConvertToInt() && crop.path("width").canConvertToInt()) {
      h = crop.path("height").asInt();
      w = crop.path("width").asInt();
    } else if (crop != null && !crop.isNull()) {
      throw new CheckpointException(file, "key 'crop_size': expected an integer or {height, width}, got " + crop);
    }
    try {
      return new CLIPImageProcessor(h, w, c.imageMean() == null ? CLIP_MEAN : c.imageMean(),
          c.imageStd() == null ? CLIP_STD : c.imageStd());
    } catch (CheckpointException e) {
      throw new CheckpointException(file, e.getMessage(), e);
    }
  }

  public int cropHeight() {
    return cropHeight;
  }

  public int cropWidth() {
    return cropWidth;
  }

  /**
   * rgb in [-1, 1], (B, C, H, W) -> (rgb + 1) / 2 resized to (B, C, cropHeight, cropWidth). Bicubic overshoot is
   * kept (no clamping), as torchvision's resize of a float tensor leaves it.
   */
  public Tensor resize(Tensor rgbNorm) {
    // Antialiased bicubic has no bf16/fp16 CPU kernel: reduced-precision input is resized in fp32 and cast back.
    boolean upcast = Tensors.isHalfPrecision(rgbNorm);
    Tensor x01 = (upcast ? rgbNorm.to(torch.ScalarType.Float) : rgbNorm).add(F.s(1)).div(F.s(2));
    Tensor resized = F.interpolate(x01, cropHeight, cropWidth, F.Mode.BICUBIC, true);
    return upcast ? resized.to(Tensors.dtype(rgbNorm)) : resized;
  }

  /** (x - image_mean) / image_std per channel, computed in fp32 (as GeoWizard does) and returned in x's dtype. */
  public Tensor normalize(Tensor x) {                    // (B, C, H, W)
    long c = x.size(1);
    if (c != mean.length) throw new IllegalArgumentException(c + " channels but " + mean.length + " image_mean values");
    torch.ScalarType dtype = Tensors.dtype(x);
    Tensor m = Tensors.fromFloats(mean, 1, c, 1, 1).to(x.device(), torch.ScalarType.Float);
    Tensor s = Tensors.fromFloats(std, 1, c, 1, 1).to(x.device(), torch.ScalarType.Float);
    Tensor out = x.to(torch.ScalarType.Float).sub(m).div(s);
    return dtype == torch.ScalarType.Float ? out : out.to(dtype);
  }

  /** GeoWizard's image-encoder input: {@code normalize(resize(rgbNorm))}. */
  public Tensor preprocess(Tensor rgbNorm) {
    return normalize(resize(rgbNorm));
  }
}
