package marigold4j.models.clip;

import marigold4j.nn.Conv2d;
import marigold4j.nn.Embedding;
import marigold4j.nn.Module;
import marigold4j.nn.Parameter;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** transformers' CLIPVisionEmbeddings: a class token, non-overlapping patch projection, learned positions. */
final class CLIPVisionEmbeddings extends Module {
  private final Parameter classEmbedding;
  private final Conv2d patchEmbedding;
  private final Embedding positionEmbedding;
  private final long dim;
  private final long imageSize;
  private final long numPositions;

  CLIPVisionEmbeddings(CLIPVisionConfig c) {
    this.dim = c.hiddenSize();
    this.imageSize = c.imageSize();
    this.numPositions = (long) c.gridSize() * c.gridSize() + 1;
    this.classEmbedding = parameter("class_embedding", dim);
    this.patchEmbedding = child("patch_embedding", new Conv2d(c.numChannels(), dim, c.patchSize(), c.patchSize(), 0,
        false));
    this.positionEmbedding = child("position_embedding", new Embedding(numPositions, dim));
    // Non-persistent in transformers 4.37 (old files may carry it); positions are always 0..N-1.
    buffer("position_ids", false, 1, numPositions);
  }

  Tensor forward(Tensor pixels) {                        // (B, C, S, S) -> (B, 1 + (S/P)^2, D)
    long b = pixels.size(0);
    if (pixels.size(2) != imageSize || pixels.size(3) != imageSize) {
      throw new IllegalArgumentException("input image size " + pixels.size(2) + "x" + pixels.size(3)
          + " does not match the model's image_size " + imageSize);
    }
    Tensor w = patchEmbedding.weight().get();
    if (Tensors.dtype(pixels) != Tensors.dtype(w)) pixels = pixels.to(Tensors.dtype(w));
    Tensor patches = patchEmbedding.forward(pixels)      // (B, D, S/P, S/P)
        .flatten(2, 3).transpose(1, 2);                  // (B, (S/P)^2, D)
    Tensor cls = classEmbedding.get().expand(b, 1, dim); // (B, 1, D)
    Tensor positions = F.arange(F.si(numPositions), torch.ScalarType.Long, w.device()).unsqueeze(0); // (1, N)
    return F.cat(1, cls, patches).add(positionEmbedding.forward(positions));
  }
}
