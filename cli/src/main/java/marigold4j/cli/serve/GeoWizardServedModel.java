package marigold4j.cli.serve;

import java.util.List;
import marigold4j.image.Npy;
import marigold4j.image.PilImage;
import marigold4j.image.Png16;
import marigold4j.image.RgbPng;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.pipeline.GeoWizardOptions;
import marigold4j.pipeline.GeoWizardPipeline;
import marigold4j.pipeline.GeoWizardPrediction;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.Prediction;

/**
 * A GeoWizard checkpoint: depth and normals from one call (run_infer.py's settings); a request returns the task it
 * asked for. The normal map's {@code .npy} is (H, W, 3), as run_infer.py saves it.
 */
public final class GeoWizardServedModel implements ServedModel {
  private final String id;
  private final GeoWizardPipeline pipeline;

  /** Serves {@code pipeline} (owned from now on: closed with this model) as {@code id}. */
  public GeoWizardServedModel(String id, GeoWizardPipeline pipeline) {
    this.id = id;
    this.pipeline = pipeline;
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String family() {
    return "geowizard";
  }

  @Override
  public List<Modality> tasks() {
    return List.of(Modality.DEPTH, Modality.NORMALS);
  }

  @Override
  public boolean hasDomains() {
    return true;
  }

  @Override
  public Settings defaults(Modality task) {
    GeoWizardOptions o = pipeline.defaults(Domain.INDOOR);
    return new Settings(o.processingRes(), o.ensembleSize(), o.denoisingSteps(), o.noise(), o.domain());
  }

  @Override
  public Output predict(PilImage image, Modality task, Settings s, long seed) {
    Domain domain = s.domain() != null ? s.domain() : Domain.INDOOR;
    GeoWizardOptions options = pipeline.defaults(domain).withProcessingRes(s.processingRes())
        .withEnsembleSize(s.ensembleSize()).withDenoisingSteps(s.denoisingSteps()).withNoise(s.noise());
    GeoWizardPrediction both = pipeline.predict(image, options, GeoWizardPipeline.seedLikeRunInfer(seed));
    int w = both.width();
    int h = both.height();
    if (task == Modality.DEPTH) {
      Prediction d = both.depth();
      return new Output(task, w, h, Npy.toBytes(Npy.Array.ofFloats(d.values(), h, w)),
          Png16.encodeValues(d.depth16(), w, h), RgbPng.encodeHwc(d.coloredRgb(), w, h));
    }
    return new Output(task, w, h, Npy.toBytes(Npy.Array.ofFloats(both.normalsHwc(), h, w, 3)), null,
        RgbPng.encodeHwc(both.normals().coloredRgb(), w, h));
  }

  @Override
  public void close() {
    pipeline.close();
  }
}
