package marigold4j.hub;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The environment variables are read with huggingface_hub.constants' names, precedence and defaults. */
class HubEnvironmentTest {
  @TempDir Path tmp;

  @Test
  void cacheDefaultsToHfHomeHubThenXdgCacheHomeThenHomeCache() {
    assertThat(new HubEnvironment(Map.of("HF_HOME", "/data/hf")).hubCache()).isEqualTo(Path.of("/data/hf/hub"));
    assertThat(new HubEnvironment(Map.of("XDG_CACHE_HOME", "/xdg")).hubCache())
        .isEqualTo(Path.of("/xdg/huggingface/hub"));
    assertThat(new HubEnvironment(Map.of()).hubCache())
        .isEqualTo(Path.of(System.getProperty("user.home"), ".cache/huggingface/hub"));
    assertThat(new HubEnvironment(Map.of("HF_HOME", "~/hf")).hubCache())
        .isEqualTo(Path.of(System.getProperty("user.home"), "hf/hub"));
  }

  @Test
  void hfHubCacheWinsOverHfHomeAndTheLegacyName() {
    assertThat(new HubEnvironment(Map.of("HF_HOME", "/a", "HF_HUB_CACHE", "/b", "HUGGINGFACE_HUB_CACHE", "/c"))
        .hubCache()).isEqualTo(Path.of("/b"));
    assertThat(new HubEnvironment(Map.of("HF_HOME", "/a", "HUGGINGFACE_HUB_CACHE", "/c")).hubCache())
        .isEqualTo(Path.of("/c"));
  }

  @Test
  void offlineIsOneOnYesOrTrue() {
    for (String v : new String[] {"1", "ON", "yes", "True"}) {
      assertThat(new HubEnvironment(Map.of("HF_HUB_OFFLINE", v)).offline()).as(v).isTrue();
    }
    for (String v : new String[] {"0", "false", "off", ""}) {
      assertThat(new HubEnvironment(Map.of("HF_HUB_OFFLINE", v)).offline()).as(v).isFalse();
    }
    assertThat(new HubEnvironment(Map.of("TRANSFORMERS_OFFLINE", "1")).offline()).isTrue();
  }

  @Test
  void endpointDefaultsToHuggingfaceCoAndLosesItsTrailingSlash() {
    assertThat(new HubEnvironment(Map.of()).endpoint()).isEqualTo("https://huggingface.co");
    assertThat(new HubEnvironment(Map.of("HF_ENDPOINT", "https://hf-mirror.com/")).endpoint())
        .isEqualTo("https://hf-mirror.com");
  }

  @Test
  void tokenComesFromHfTokenThenTheTokenFile() throws IOException {
    Files.writeString(tmp.resolve("token"), "hf_file\n");
    Files.writeString(tmp.resolve("other"), "hf_other");
    String home = tmp.toString();

    assertThat(new HubEnvironment(Map.of("HF_HOME", home, "HF_TOKEN", "hf_env")).token()).isEqualTo("hf_env");
    assertThat(new HubEnvironment(Map.of("HF_HOME", home)).token()).isEqualTo("hf_file");
    assertThat(new HubEnvironment(Map.of("HF_HOME", home, "HF_TOKEN_PATH", tmp.resolve("other").toString())).token())
        .isEqualTo("hf_other");
    assertThat(new HubEnvironment(Map.of("HF_HOME", tmp.resolve("none").toString())).token()).isNull();
  }
}
