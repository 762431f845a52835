package marigold4j.checkpoint;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import marigold4j.models.unet.UNet2DConditionConfig;
import marigold4j.testing.Golden;
import marigold4j.weights.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Malformed configs and weight headers are reported where they are wrong, with the values found. */
class ParserMessagesTest {
  @Test
  void aWrongTypeInsideAListNamesTheKeyAndIndex(@TempDir Path tmp) throws IOException {
    Path config = tmp.resolve("config.json");
    String json = Files.readString(Golden.fixtures().resolve("checkpoints/tiny-marigold-depth/unet/config.json"))
        .replaceFirst("\"block_out_channels\": \\[\\s*32,", "\"block_out_channels\": [\"wide\",");
    Files.writeString(config, json);
    // before: "key 'null'" (the last path element is an array index)
    assertThatThrownBy(() -> UNet2DConditionConfig.read(config)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining("key 'block_out_channels[0]'").hasMessageNotContaining("'null'");
  }

  @Test
  void aNegativeOffsetIsShownAsWritten(@TempDir Path tmp) throws IOException {
    byte[] header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}".getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + header.length + 8).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(header.length).put(header).putLong(0);
    Path file = Files.write(tmp.resolve("w.safetensors"), b.array());
    // before: "byte range [-1, 0)"
    assertThatThrownBy(() -> SafeTensors.load(file)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining("byte range [-8,0] is not two non-negative integers");
  }

  @Test
  void aConfigThatIsJsonNullIsRefusedNamingTheFile(@TempDir Path tmp) throws IOException {
    // found by ConfigJsonFuzzTest: the literal null parsed to no object and SchedulerConfig.read threw a
    // NullPointerException
    Path config = Files.writeString(tmp.resolve("scheduler_config.json"), "null\n");
    assertThatThrownBy(() -> marigold4j.schedulers.SchedulerConfig.read(config)).isInstanceOf(CheckpointException.class)
        .hasMessageContaining("scheduler_config.json").hasMessageContaining("expected a JSON object");
    assertThatThrownBy(() -> ConfigJson.read(config, java.util.Map.class)).isInstanceOf(CheckpointException.class);
  }
}
