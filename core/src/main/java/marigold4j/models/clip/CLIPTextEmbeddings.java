package marigold4j.models.clip;

import marigold4j.nn.Embedding;
import marigold4j.nn.Module;
import marigold4j.torch.F;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** transformers' CLIPTextEmbeddings: token embedding plus learned absolute position embedding. */
final class CLIPTextEmbeddings extends Module {
  private final Embedding tokenEmbedding;
  private final Embedding positionEmbedding;
  private final long maxPositions;

  CLIPTextEmbeddings(long vocab, long dim, long maxPositions) {
    // A non-persistent buffer in transformers 4.37: not in new files, present in old ones (then loaded and unused;
    // the positions are always 0..L-1, as transformers computes them when no position_ids are passed).
    buffer("position_ids", false, 1, maxPositions);
    this.tokenEmbedding = child("token_embedding", new Embedding(vocab, dim));
    this.positionEmbedding = child("position_embedding", new Embedding(maxPositions, dim));
    this.maxPositions = maxPositions;
  }

  Tensor forward(Tensor ids) {                           // ids: (B, L) int64 -> (B, L, D)
    long len = ids.size(1);
    if (len > maxPositions) {
      throw new IllegalArgumentException("sequence of " + len + " tokens exceeds max_position_embeddings "
          + maxPositions);
    }
    Tensor positions = torch.arange(F.si(len), ids.options()).unsqueeze(0);   // (1, L), ids' device
    return tokenEmbedding.forward(ids).add(positionEmbedding.forward(positions));
  }
}
