package marigold4j.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Map;
import java.util.Set;
import marigold4j.torch.Tensors;
import marigold4j.weights.SafeTensors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Outputs written through a temporary file and a rename get the permissions the user's umask gives any new file,
 * as if written directly; the temporary files of {@link java.nio.file.Files#createTempFile} are 0600 and made every
 * depth map, PNG and fine-tuned weight file private.
 */
class AtomicFilesTest {
  @BeforeEach
  void posixOnly() {
    assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"), "POSIX permissions");
  }

  private static Set<PosixFilePermission> plainFile(Path dir) throws IOException {
    Path p = Files.createFile(dir.resolve("plain"));
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
    Files.delete(p);
    return perms;
  }

  @Test
  void anAtomicallyWrittenFileHasTheUmasksPermissions(@TempDir Path tmp) throws IOException {
    Path out = tmp.resolve("depth_npy/x_pred.npy");
    AtomicFiles.write(out, o -> o.write(new byte[] {1, 2, 3}));
    assertThat(Files.getPosixFilePermissions(out)).isEqualTo(plainFile(tmp));
    assertThat(Files.readAllBytes(out)).containsExactly(1, 2, 3);
    try (var files = Files.list(out.getParent())) {
      assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("x_pred.npy");
    }
  }

  @Test
  void savedWeightsHaveTheUmasksPermissions(@TempDir Path tmp) throws IOException {
    Path out = tmp.resolve("diffusion_pytorch_model.safetensors");
    SafeTensors.save(out, Map.of("w", Tensors.fromFloats(new float[] {1, 2}, 2)), null);
    assertThat(Files.getPosixFilePermissions(out)).isEqualTo(plainFile(tmp));
  }

  @Test
  void temporaryFoldersHaveTheUmasksPermissions(@TempDir Path tmp) throws IOException {
    Path plain = Files.createDirectory(tmp.resolve("plain-dir"));
    Path made = AtomicFiles.newTempDirectory(tmp, ".checkpoint-5.");
    assertThat(made.getFileName().toString()).startsWith(".checkpoint-5.").endsWith(".tmp");
    assertThat(Files.getPosixFilePermissions(made)).isEqualTo(Files.getPosixFilePermissions(plain));
  }
}
