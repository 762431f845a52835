package marigold4j.models.vae;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AutoencoderKLConfigTest {
  @TempDir
  Path tmp;

  private Path write(String json) throws IOException {
    Path file = tmp.resolve("config.json");
    Files.writeString(file, json);
    return file;
  }

  @Test
  void readsTheTinyCheckpointConfig() {
    AutoencoderKLConfig c =
        AutoencoderKLConfig.read(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth/vae/config.json"));
    assertThat(c.blockOutChannels()).containsExactly(16, 32, 32, 32);
    assertThat(c.downBlockTypes()).hasSize(4).containsOnly("DownEncoderBlock2D");
    assertThat(c.normNumGroups()).isEqualTo(8);
    assertThat(c.latentChannels()).isEqualTo(4);
    assertThat(c.scalingFactor()).isEqualTo(0.18215);
    assertThat(c.shiftFactor()).isNull();
    assertThat(c.downsamplingFactor()).isEqualTo(8);
  }

  @Test
  void fillsAbsentKeysWithDiffusersDefaults() throws IOException {
    AutoencoderKLConfig c = AutoencoderKLConfig.read(write("{\"_class_name\": \"AutoencoderKL\"}"));
    assertThat(c.inChannels()).isEqualTo(3);
    assertThat(c.blockOutChannels()).containsExactly(64);
    assertThat(c.normNumGroups()).isEqualTo(32);
    assertThat(c.scalingFactor()).isEqualTo(0.18215);
    assertThat(c.useQuantConv()).isTrue();
    assertThat(c.usePostQuantConv()).isTrue();
    assertThat(c.midBlockAddAttention()).isTrue();
    assertThat(c.forceUpcast()).isTrue();
  }

  @Test
  void rejectsUnknownDownBlockTypeNamingKeyAndFile() throws IOException {
    Path file = write("{\"block_out_channels\": [32, 32], \"norm_num_groups\": 8,"
        + " \"down_block_types\": [\"DownEncoderBlock2D\", \"AttnDownEncoderBlock2D\"],"
        + " \"up_block_types\": [\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]}");
    assertThatThrownBy(() -> AutoencoderKLConfig.read(file)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining(file.toString()).hasMessageContaining("down_block_types")
        .hasMessageContaining("AttnDownEncoderBlock2D");
  }

  @Test
  void rejectsUpBlockListOfTheWrongLength() throws IOException {
    Path file = write("{\"block_out_channels\": [32, 32], \"norm_num_groups\": 8,"
        + " \"down_block_types\": [\"DownEncoderBlock2D\", \"DownEncoderBlock2D\"],"
        + " \"up_block_types\": [\"UpDecoderBlock2D\"]}");
    assertThatThrownBy(() -> AutoencoderKLConfig.read(file)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining("up_block_types").hasMessageContaining("1 entries");
  }

  @Test
  void rejectsNonSiluActivationAndBadLatentChannels() throws IOException {
    Path gelu = write("{\"block_out_channels\": [32], \"norm_num_groups\": 8, \"act_fn\": \"gelu\"}");
    assertThatThrownBy(() -> AutoencoderKLConfig.read(gelu)).hasMessageContaining("act_fn");
    Path latent = write("{\"block_out_channels\": [32], \"norm_num_groups\": 8, \"latent_channels\": 0}");
    assertThatThrownBy(() -> AutoencoderKLConfig.read(latent)).hasMessageContaining("latent_channels");
    Path groups = write("{\"block_out_channels\": [30], \"norm_num_groups\": 8}");
    assertThatThrownBy(() -> AutoencoderKLConfig.read(groups)).hasMessageContaining("norm_num_groups");
  }

  @Test
  void omitsQuantConvsAndMidAttentionWhenConfigured() throws IOException {
    Path file = write("{\"block_out_channels\": [16, 16], \"norm_num_groups\": 8, \"use_quant_conv\": false,"
        + " \"use_post_quant_conv\": false, \"mid_block_add_attention\": false,"
        + " \"down_block_types\": [\"DownEncoderBlock2D\", \"DownEncoderBlock2D\"],"
        + " \"up_block_types\": [\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]}");
    AutoencoderKL vae = new AutoencoderKL(AutoencoderKLConfig.read(file));
    assertThat(vae.namedParameters().keySet()).noneMatch(k -> k.contains("quant_conv") || k.contains("attentions"));
  }
}
