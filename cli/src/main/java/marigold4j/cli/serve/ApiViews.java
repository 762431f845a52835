package marigold4j.cli.serve;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;
import marigold4j.cli.serve.ServedModel.Output;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.models.geowizard.GeoWizardConditioning.Domain;
import marigold4j.pipeline.Modality;

/** The JSON documents of the API: health, the model list with defaults and limits, a prediction's summary. */
final class ApiViews {
  private ApiViews() {}

  static ObjectNode health(List<ServedModel> models, ModelWorker worker, int served) {
    ObjectNode o = HttpIo.JSON.createObjectNode();
    o.put("status", "ok");
    ArrayNode ids = o.putArray("models");
    models.forEach(m -> ids.add(m.id()));
    ObjectNode q = o.putObject("queue");
    q.put("waiting", worker.waiting());
    q.put("capacity", worker.capacity());
    q.put("busy", worker.busy());
    o.put("predictions_served", served);
    return o;
  }

  static ObjectNode models(List<ServedModel> models, DemoServer.Config config) {
    ObjectNode o = HttpIo.JSON.createObjectNode();
    ArrayNode list = o.putArray("models");
    for (ServedModel m : models) {
      ObjectNode mo = list.addObject();
      mo.put("id", m.id());
      mo.put("family", m.family());
      mo.put("bytes_per_processing_pixel", m.bytesPerProcessingPixel());
      mo.put("max_processing_megapixels", config.maxRequestBytes() / (double) m.bytesPerProcessingPixel() / 1e6);
      ArrayNode tasks = mo.putArray("tasks");
      ObjectNode defaults = mo.putObject("defaults");
      for (Modality t : m.tasks()) {
        tasks.add(t.cliName());
        defaults.set(t.cliName(), settings(m.defaults(t), m.hasDomains()));
      }
      if (m.hasDomains()) {
        ArrayNode d = mo.putArray("domains");
        for (Domain dom : Domain.values()) d.add(dom.id());
      }
    }
    ObjectNode limits = o.putObject("limits");
    limits.put("max_upload_bytes", config.maxUploadBytes());
    limits.put("max_pixels", config.maxPixels());
    limits.put("max_processing_res", config.maxProcessingRes());
    limits.put("max_ensemble_size", PredictForm.MAX_ENSEMBLE_SIZE);
    limits.put("max_denoising_steps", PredictForm.MAX_DENOISING_STEPS);
    limits.put("max_request_memory_bytes", config.maxRequestBytes());
    limits.put("max_work", config.maxWork());
    limits.put("max_connections", config.maxConnections());
    limits.put("header_timeout_s", Math.min(config.headerTimeoutSeconds(), config.requestTimeoutSeconds()));
    limits.put("request_timeout_s", config.requestTimeoutSeconds());
    return o;
  }

  static ObjectNode settings(EstimatorSettings s, boolean domains) {
    ObjectNode o = HttpIo.JSON.createObjectNode();
    o.put("processing_res", s.processingRes());
    o.put("ensemble_size", s.ensembleSize());
    o.put("denoising_steps", s.denoisingSteps());
    if (s.noise() != null) o.put("noise", s.noise().name().toLowerCase(Locale.ROOT));
    if (s.outputUncertainty() != null) o.put("output_uncertainty", s.outputUncertainty());
    if (domains && s.domain() != null) o.put("domain", s.domain().id());
    return o;
  }

  /** A finished prediction: its id, model, task, sizes, timings, seed, settings and a link per file. */
  static ObjectNode prediction(String id, PredictForm.Request r, Output out, long processingMs, long totalMs) {
    ObjectNode o = HttpIo.JSON.createObjectNode();
    o.put("id", id);
    o.put("model", r.model().id());
    o.put("task", r.task().cliName());
    o.put("width", out.width());
    o.put("height", out.height());
    o.put("input_width", r.width());
    o.put("input_height", r.height());
    o.put("processing_ms", processingMs);
    o.put("total_ms", totalMs);
    o.put("seed", r.seed());
    o.set("settings", settings(r.settings(), r.model().hasDomains()));
    ObjectNode links = o.putObject("links");
    String base = "/api/results/" + id + "/";
    for (String kind : out.files().keySet()) links.put(kind, base + kind);
    return o;
  }
}
