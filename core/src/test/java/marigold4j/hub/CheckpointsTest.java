package marigold4j.hub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ModelIndex;
import marigold4j.testing.Golden;
import marigold4j.weights.WeightFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Checkpoints#resolve}: folders as is, ids through the Hub cache, clear messages for anything else. */
class CheckpointsTest {
  static final Path TINY = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth");
  static final String COMMIT = "a9c7e4d2b1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6";
  static final String OLDER_COMMIT = "0000000000111111111122222222223333333333";

  @TempDir Path tmp;

  /** No network, no real cache: every lookup that escapes these tests fails fast. */
  ResolveOptions offlineIn(Path cache) {
    return ResolveOptions.defaults().withEnvironment(Map.of("HF_HOME", tmp.resolve("home").toString()))
        .withCacheDir(cache).withOffline(true);
  }

  @Test
  void existingFolderIsReturnedAsIs() {
    assertThat(Checkpoints.resolve(TINY.toString(), offlineIn(tmp))).isEqualTo(TINY);
  }

  @Test
  void stringThatIsNeitherFolderNorIdSaysSo() {
    assertThatThrownBy(() -> Checkpoints.resolve("./no/such/folder", offlineIn(tmp)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("'./no/such/folder': no such folder, and not a Hugging Face model id (org/name or "
            + "org/name@revision)");
  }

  @Test
  void fileInsteadOfFolderAsksForTheFolder() {
    assertThatThrownBy(() -> Checkpoints.resolve(TINY.resolve("model_index.json").toString(), offlineIn(tmp)))
        .isInstanceOf(CheckpointException.class).hasMessageContaining("is a file; pass the checkpoint folder");
  }

  @Test
  void idWithTwoDifferentRevisionsIsRejected() {
    assertThatThrownBy(() -> Checkpoints.resolve("org/name@v1", offlineIn(tmp).withRevision("v2")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("names revision v1");
  }

  @Test
  void modelRefParsesIdAndRevision() {
    assertThat(ModelRef.parse("GonzaloMG/marigold-e2e-ft-depth")).contains(
        new ModelRef("GonzaloMG/marigold-e2e-ft-depth", null));
    assertThat(ModelRef.parse("prs-eth/marigold-depth-v1-0@refs/pr/3")).contains(
        new ModelRef("prs-eth/marigold-depth-v1-0", "refs/pr/3"));
    assertThat(ModelRef.parse("just-a-name")).isEmpty();
    assertThat(ModelRef.parse("a/b/c")).isEmpty();
    assertThat(ModelRef.parse("org--x/name")).isEmpty();
    assertThat(ModelRef.parse("org/name@")).isEmpty();
  }

  @Test
  void idThatIsAlsoAMistypedFolderMentionsBoth() {
    try (FakeHub hub = FakeHub.serving("org/model", TINY)) {
      ResolveOptions opts = ResolveOptions.defaults().withEnvironment(Map.of("HF_HOME", tmp.toString()))
          .withEndpoint(hub.endpoint()).withCacheDir(tmp.resolve("hub"));
      assertThatThrownBy(() -> Checkpoints.resolve("ckpts/model", opts))
          .isInstanceOf(HubException.class).hasMessageContaining("model ckpts/model not found")
          .hasMessageContaining("there is no local folder 'ckpts/model'");
    }
  }

  @Test
  void idIsDownloadedThroughTheHub() {
    try (FakeHub hub = FakeHub.serving("org/model", TINY)) {
      ResolveOptions opts = ResolveOptions.defaults().withEnvironment(Map.of("HF_HOME", tmp.toString()))
          .withEndpoint(hub.endpoint());
      Path snapshot = Checkpoints.resolve("org/model@main", opts);
      assertThat(snapshot).isEqualTo(tmp.resolve("hub/models--org--model/snapshots/" + FakeHub.COMMIT));
      assertThat(ModelIndex.read(snapshot).components()).containsKeys("unet", "vae", "text_encoder");
    }
  }

  /**
   * A cache as {@code huggingface_hub} 0.2x leaves it after {@code snapshot_download}: blobs named by sha256 (LFS) or
   * git sha1, relative symlinks, {@code refs/main} without a newline, a {@code .no_exist} marker, an older snapshot,
   * lock files, and README / fp16 files a pipeline does not need.
   */
  Path writePythonCache(Path cache) throws IOException {
    Path repo = cache.resolve("models--GonzaloMG--marigold-e2e-ft-depth");
    Path blobs = Files.createDirectories(repo.resolve("blobs"));
    Path snapshot = repo.resolve("snapshots").resolve(COMMIT);
    try (var files = Files.walk(TINY)) {
      for (Path src : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
        String rel = TINY.relativize(src).toString();
        byte[] content = Files.readAllBytes(src);
        String etag = FakeHub.isLfs(rel) ? FakeHub.sha256(content) : FakeHub.gitSha1(content);
        Files.write(blobs.resolve(etag), content);
        Path pointer = snapshot.resolve(rel);
        Files.createDirectories(pointer.getParent());
        Files.createSymbolicLink(pointer, Path.of("../".repeat(rel.split("/").length + 1) + "blobs/" + etag));
      }
    }
    Files.write(blobs.resolve("d7edf6bd2a681fb0175f7735299831ee1b22b812"), "# readme\n".getBytes());
    Files.createSymbolicLink(snapshot.resolve("README.md"), Path.of("../../blobs/d7edf6bd2a681fb0175f7735299831ee1b22b812"));
    Files.createDirectories(repo.resolve(".no_exist").resolve(COMMIT).resolve("unet"));
    Files.createFile(repo.resolve(".no_exist").resolve(COMMIT).resolve("unet/diffusion_pytorch_model.fp16.safetensors"));
    Files.createDirectories(repo.resolve("snapshots").resolve(OLDER_COMMIT).resolve("unet"));
    Files.createDirectories(repo.resolve("refs"));
    Files.writeString(repo.resolve("refs/main"), COMMIT);
    Files.createDirectories(cache.resolve(".locks/models--GonzaloMG--marigold-e2e-ft-depth"));
    return snapshot;
  }

  @Test
  void cacheWrittenByHuggingfaceHubIsUsedOffline() throws IOException {
    Path snapshot = writePythonCache(tmp.resolve("hub"));

    Path resolved = Checkpoints.resolve("GonzaloMG/marigold-e2e-ft-depth", offlineIn(tmp.resolve("hub")));

    assertThat(resolved).isEqualTo(snapshot);
    assertThat(ModelIndex.read(resolved).className()).isEqualTo("MarigoldPipeline");
    assertThat(WeightFiles.files(resolved.resolve("unet"), null))
        .containsExactly(resolved.resolve("unet/diffusion_pytorch_model.safetensors"));
    assertThat(Files.readAllBytes(resolved.resolve("vae/config.json")))
        .isEqualTo(Files.readAllBytes(TINY.resolve("vae/config.json")));
  }

  @Test
  void cacheIsFoundThroughHfHomeAndHfHubOfflineLikeThePythonTools() throws IOException {
    Path snapshot = writePythonCache(tmp.resolve("hf-home/hub"));
    ResolveOptions opts = ResolveOptions.defaults().withEnvironment(Map.of("HF_HOME", tmp.resolve("hf-home")
        .toString(), "HF_HUB_OFFLINE", "1", "HF_ENDPOINT", "http://127.0.0.1:9"));

    assertThat(Checkpoints.resolve("GonzaloMG/marigold-e2e-ft-depth", opts)).isEqualTo(snapshot);
    assertThat(Checkpoints.resolve("GonzaloMG/marigold-e2e-ft-depth@" + COMMIT, opts)).isEqualTo(snapshot);
  }

  @Test
  void offlineRevisionNeverDownloadedIsNamed() throws IOException {
    writePythonCache(tmp.resolve("hub"));

    assertThatThrownBy(() -> Checkpoints.resolve("GonzaloMG/marigold-e2e-ft-depth@v2", offlineIn(tmp.resolve("hub"))))
        .isInstanceOf(HubException.class).hasMessageContaining("has no refs/v2")
        .hasMessageContaining("marigold4j download GonzaloMG/marigold-e2e-ft-depth --revision v2");
  }

  @Test
  void offlineSnapshotWithADanglingLinkNamesTheMissingWeights() throws IOException {
    Path snapshot = writePythonCache(tmp.resolve("hub"));
    Path blob = snapshot.resolve("vae/diffusion_pytorch_model.safetensors").toRealPath();
    Files.delete(blob);  // a user cleaned blobs/ by hand

    assertThatThrownBy(() -> Checkpoints.resolve("GonzaloMG/marigold-e2e-ft-depth", offlineIn(tmp.resolve("hub"))))
        .isInstanceOf(HubException.class).hasMessageContaining("vae/: weights (diffusion_pytorch_model.safetensors");
  }
}
