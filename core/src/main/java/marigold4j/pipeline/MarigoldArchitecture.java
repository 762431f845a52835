package marigold4j.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import marigold4j.checkpoint.ConfigJson;
import marigold4j.models.unet.UNet2DConditionConfig;
import marigold4j.models.vae.AutoencoderKLConfig;

/**
 * Marigold architectures bundled as configs (no weights), for building a pipeline with random weights: benchmarks
 * and tests that need the real sizes without downloading a checkpoint.
 */
public enum MarigoldArchitecture {
  /**
   * The released Marigold / E2E-FT depth and normals checkpoints: the SD2 UNet with 8 input channels (865,922,244
   * parameters) and the SD2 VAE (83,653,863), with SD2's 1024-wide text conditioning.
   */
  FULL_SIZE("full"),
  /** The tiny test fixture checkpoint's architecture (testdata/checkpoints/tiny-marigold-depth), for fast tests. */
  TINY("tiny");

  private final String folder;

  MarigoldArchitecture(String folder) {
    this.folder = folder;
  }

  /** The name the {@code bench --config} option uses: {@code full} or {@code tiny}. */
  public String cliName() {
    return folder;
  }

  /** Parses {@code full} or {@code tiny}. */
  public static MarigoldArchitecture parse(String name) {
    for (MarigoldArchitecture a : values()) if (a.folder.equalsIgnoreCase(name)) return a;
    throw new IllegalArgumentException("unknown architecture '" + name + "' (use full or tiny)");
  }

  public UNet2DConditionConfig unetConfig() {
    return UNet2DConditionConfig.fromJson(read("unet.json"), resource("unet.json"));
  }

  public AutoencoderKLConfig vaeConfig() {
    String name = resource("vae.json");
    try (InputStream in = stream("vae.json")) {
      AutoencoderKLConfig c = ConfigJson.mapper().readValue(in, AutoencoderKLConfig.class);
      c.validate(Path.of(name));
      return c;
    } catch (IOException e) {
      throw new UncheckedIOException(name + ": " + e.getMessage(), e);
    }
  }

  private JsonNode read(String file) {
    try (InputStream in = stream(file)) {
      return ConfigJson.mapper().readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException(resource(file) + ": " + e.getMessage(), e);
    }
  }

  private InputStream stream(String file) {
    InputStream in = MarigoldArchitecture.class.getResourceAsStream("architectures/" + folder + "/" + file);
    if (in == null) throw new IllegalStateException("bundled config " + resource(file) + " is missing from the jar");
    return in;
  }

  private String resource(String file) {
    return "marigold4j/pipeline/architectures/" + folder + "/" + file;
  }
}
