package marigold4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import marigold4j.hub.FakeHub;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code marigold4j download} against a local stand-in for the Hub. */
class DownloadCommandTest {
  static final String REPO = "prs-eth/tiny-marigold-depth";

  @TempDir Path cache;
  FakeHub hub;

  @BeforeEach
  void startHub() {
    hub = FakeHub.serving(REPO, Golden.fixtures().resolve("checkpoints/tiny-marigold-depth"));
  }

  @AfterEach
  void stopHub() {
    hub.close();
  }

  @Test
  void downloadsTheModelAndPrintsItsSnapshotFolder() {
    CliRun r = CliRun.of("download", REPO, "--endpoint", hub.endpoint(), "--cache-dir", cache.toString());

    Path snapshot = cache.resolve("models--prs-eth--tiny-marigold-depth/snapshots/" + FakeHub.COMMIT);
    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out().trim()).isEqualTo(snapshot.toString());
    assertThat(snapshot.resolve("unet/diffusion_pytorch_model.safetensors")).isRegularFile();
    assertThat(snapshot.resolve("README.md")).doesNotExist();
    // not a terminal: one line per file instead of a bar
    assertThat(r.err()).contains("downloading unet/diffusion_pytorch_model.safetensors (3.0 MiB)")
        .contains("done unet/diffusion_pytorch_model.safetensors: 3.0 MiB in");
  }

  @Test
  void offlineAfterADownloadPrintsTheSameFolderWithoutNetwork() {
    CliRun first = CliRun.of("download", REPO + "@main", "--endpoint", hub.endpoint(), "--cache-dir",
        cache.toString());
    hub.close();

    CliRun r = CliRun.of("download", REPO, "--offline", "--cache-dir", cache.toString());

    assertThat(r.exitCode()).as(r.err()).isZero();
    assertThat(r.out()).isEqualTo(first.out());
    assertThat(r.err()).doesNotContain("downloading");
  }

  @Test
  void offlineWithAnEmptyCacheSaysWhatIsMissingInOneLine() {
    CliRun r = CliRun.of("download", REPO, "--offline", "--cache-dir", cache.toString());

    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err().trim()).startsWith("error: " + REPO + "@main: offline mode")
        .contains("not in the cache").doesNotContain("Exception").doesNotContain("\n");
  }

  @Test
  void unknownModelIsOneLineNotAStackTrace() {
    CliRun r = CliRun.of("download", "prs-eth/nope", "--endpoint", hub.endpoint(), "--cache-dir", cache.toString());

    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err().trim()).startsWith("error: model prs-eth/nope not found").doesNotContain("\n\tat ");
  }

  @Test
  void somethingThatIsNotAnIdIsRejected() {
    CliRun r = CliRun.of("download", "not-an-id", "--cache-dir", cache.toString());

    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err().trim()).isEqualTo("error: 'not-an-id' is not a Hugging Face model id (org/name or "
        + "org/name@revision)");
  }

  @Test
  void helpExplainsEveryOption() {
    CliRun r = CliRun.of("download", "--help");

    assertThat(r.exitCode()).isZero();
    assertThat(r.out()).contains("--revision=R", "--variant=V", "--offline", "--cache-dir=DIR", "--endpoint=URL",
        "HF_TOKEN", "org/name@revision");
    assertThat(CliRun.of("--help").out()).contains("download");
    assertThat(Files.exists(cache.resolve("models--prs-eth--tiny-marigold-depth"))).isFalse();
  }
}
