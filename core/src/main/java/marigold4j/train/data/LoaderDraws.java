package marigold4j.train.data;

/**
 * The draws the original's data pipeline makes from the process-wide generators (torch's, numpy's legacy one and
 * Python's {@code random}) while it produces one batch. The training scripts load with {@code num_workers=0}, so
 * these draws happen in the training loop's own process, interleaved with its noise draws, in this order:
 * <ol>
 *   <li>at an epoch's first batch, {@code MixedDataLoader.__iter__} calls {@code iter()} on each loader, and each
 *       new DataLoader iterator draws its base seed ({@code torch.empty((), dtype=torch.int64).random_()});
 *   <li>then the mixer shuffles the epoch's order with {@code np.random.shuffle};
 *   <li>at a loader's first batch in the epoch, its {@code RandomSampler} draws the seed of its permutation (one more
 *       int64 from torch's generator; the permutation itself uses a private generator);
 *   <li>then per item, {@code random.random() > 0.5} decides the flip, and a flipped item calls
 *       {@code RandomHorizontalFlip(p=1.0)} on its rgb, depth and normal image, each call drawing
 *       {@code torch.rand(1)}.
 * </ol>
 * A seeded run replays them on its own copies of those generators ({@code marigold4j.train.TrainingRandom}) so that
 * its noise draws land where the original's do.
 *
 * @param newIterators loader iterators created right before this batch (the epoch's loaders at its first batch, else 0)
 * @param splitLength length of the mixer's epoch order shuffled before this batch (0: none)
 * @param samplerSeed whether this is its loader's first batch of the epoch with a shuffling sampler
 * @param items items of the batch as planned (the original has no notion of a bad item)
 * @param transform whether the items are augmented (each draws its flip decision)
 * @param hflipProb flip probability: an item flips when its draw is greater than {@code 1 - hflipProb}
 */
public record LoaderDraws(int newIterators, int splitLength, boolean samplerSeed, int items, boolean transform,
    double hflipProb) {}
