package marigold4j.cli.serve;

import java.util.List;
import marigold4j.image.Npy;
import marigold4j.image.PilImage;
import marigold4j.image.Png16;
import marigold4j.image.RgbPng;
import marigold4j.pipeline.MarigoldOptions;
import marigold4j.pipeline.MarigoldPipeline;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Prediction;
import marigold4j.random.NoiseSource;

/** A Marigold / E2E-FT checkpoint: one task (depth or normals), run.py's settings. */
public final class MarigoldServedModel implements ServedModel {
  private final String id;
  private final MarigoldPipeline pipeline;
  private final Modality modality;

  /** Serves {@code pipeline} (owned from now on: closed with this model) as {@code id}, predicting {@code modality}. */
  public MarigoldServedModel(String id, MarigoldPipeline pipeline, Modality modality) {
    this.id = id;
    this.pipeline = pipeline;
    this.modality = modality;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String family() {
    return "marigold";
  }

  @Override
  public List<Modality> tasks() {
    return List.of(modality);
  }

  @Override
  public Settings defaults(Modality task) {
    MarigoldOptions o = pipeline.defaults(modality);
    return new Settings(o.processingRes(), o.ensembleSize(), o.denoisingSteps(), o.noise(), null);
  }

  @Override
  public Output predict(PilImage image, Modality task, Settings s, long seed) {
    if (task != modality) {
      throw new IllegalArgumentException("model '" + id + "' predicts " + modality.cliName() + ", not "
          + task.cliName());
    }
    MarigoldOptions options = pipeline.defaults(modality).withProcessingRes(s.processingRes())
        .withEnsembleSize(s.ensembleSize()).withDenoisingSteps(s.denoisingSteps()).withNoise(s.noise());
    NoiseSource noise = MarigoldPipeline.seedLikeRunPy(seed);
    // the same decoding as `predict` (ImageInput.readRgb: PIL's convert("RGB"))
    Prediction p = pipeline.predict(image.toRgbChw(), options, noise);
    byte[] npy = Npy.toBytes(Npy.Array.ofFloats(p.values(), p.shape()));
    byte[] png16 = modality == Modality.DEPTH ? Png16.encodeValues(p.depth16(), p.width(), p.height()) : null;
    byte[] colored = RgbPng.encodeHwc(p.coloredRgb(), p.width(), p.height());
    return new Output(modality, p.width(), p.height(), npy, png16, colored);
  }

  @Override
  public void close() {
    pipeline.close();
  }
}
