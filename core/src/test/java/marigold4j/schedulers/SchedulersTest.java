package marigold4j.schedulers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.schedulers.SchedulerConfig.BetaSchedule;
import marigold4j.schedulers.SchedulerConfig.PredictionType;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;
import marigold4j.schedulers.SchedulerConfig.VarianceType;
import marigold4j.testing.Golden;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading {@code scheduler_config.json} and choosing the scheduler class. */
class SchedulersTest {
  @TempDir
  Path tmp;

  /** E2E-FT's training output: a DDPMScheduler config with trailing spacing (training/train_output/scheduler). */
  static final String TRAIN_OUTPUT_DDPM = """
      {
        "_class_name": "DDPMScheduler",
        "_diffusers_version": "0.30.2",
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "clip_sample": false,
        "clip_sample_range": 1.0,
        "dynamic_thresholding_ratio": 0.995,
        "num_train_timesteps": 1000,
        "prediction_type": "v_prediction",
        "rescale_betas_zero_snr": false,
        "sample_max_value": 1.0,
        "set_alpha_to_one": false,
        "steps_offset": 1,
        "thresholding": false,
        "timestep_spacing": "trailing",
        "trained_betas": null,
        "variance_type": "fixed_small"
      }
      """;

  Path schedulerDir(String json) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("scheduler"));
    Files.writeString(dir.resolve("scheduler_config.json"), json);
    return dir;
  }

  @Test
  void picksDdimForEveryTinyCheckpoint() {
    for (String ckpt : new String[] {"tiny-marigold-depth", "tiny-marigold-normals", "tiny-sd2-4ch", "tiny-geowizard"}) {
      Scheduler s = Schedulers.load(Golden.fixtures().resolve("checkpoints").resolve(ckpt).resolve("scheduler"));
      assertThat(s).as(ckpt).isInstanceOf(DDIMScheduler.class);
      assertThat(s.config().timestepSpacing()).isEqualTo(TimestepSpacing.TRAILING);
    }
  }

  @Test
  void picksDdpmForTheTrainingOutput() throws IOException {
    Scheduler s = Schedulers.load(schedulerDir(TRAIN_OUTPUT_DDPM));
    assertThat(s).isInstanceOf(DDPMScheduler.class);
    assertThat(s.config().varianceType()).isEqualTo(VarianceType.FIXED_SMALL);
  }

  @Test
  void loadsADdpmConfigAsDdimLikeTheInferenceScripts() throws IOException {
    // Marigold/run.py: DDIMScheduler.from_pretrained(checkpoint, subfolder="scheduler") on a trained checkpoint
    DDIMScheduler s = DDIMScheduler.load(schedulerDir(TRAIN_OUTPUT_DDPM));
    s.setTimesteps(4);
    assertThat(s.timesteps()).containsExactly(999, 749, 499, 249);
    assertThat(s.finalAlphaCumprod()).isEqualTo(s.alphaCumprod(0));
  }

  @Test
  void overridesTheTimestepSpacing() {
    Path dir = Golden.fixtures().resolve("checkpoints/tiny-marigold-depth/scheduler");
    Scheduler s = Schedulers.load(dir, TimestepSpacing.LEADING);
    s.setTimesteps(4);
    assertThat(s.timesteps()).containsExactly(751, 501, 251, 1);
    Scheduler back = s.withTimestepSpacing(TimestepSpacing.TRAILING);
    back.setTimesteps(4);
    assertThat(back.timesteps()).containsExactly(999, 749, 499, 249);
    assertThat(s.timesteps()).containsExactly(751, 501, 251, 1);
  }

  @Test
  void takesDiffusersDefaultsForAbsentKeys() throws IOException {
    SchedulerConfig c = SchedulerConfig.read(schedulerDir("{\"_class_name\": \"DDIMScheduler\"}")
        .resolve("scheduler_config.json"));
    assertThat(c).usingRecursiveComparison().ignoringFields("className", "source")
        .isEqualTo(SchedulerConfig.defaults());
    assertThat(c.betaSchedule()).isEqualTo(BetaSchedule.LINEAR);
    assertThat(c.predictionType()).isEqualTo(PredictionType.EPSILON);
    assertThat(c.timestepSpacing()).isEqualTo(TimestepSpacing.LEADING);
    assertThat(c.setAlphaToOne()).isTrue();
    assertThat(c.clipSample()).isTrue();
  }

  @Test
  void rejectsOtherSchedulerClassesNamingClassAndFile() throws IOException {
    Path dir = schedulerDir(TRAIN_OUTPUT_DDPM.replace("DDPMScheduler", "EulerDiscreteScheduler"));
    assertThatThrownBy(() -> Schedulers.load(dir))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("EulerDiscreteScheduler")
        .hasMessageContaining(dir.resolve("scheduler_config.json").toString())
        .hasMessageContaining("DDIMScheduler, DDPMScheduler");
  }

  @Test
  void rejectsThresholdingNamingKeyAndFile() throws IOException {
    Path dir = schedulerDir(TRAIN_OUTPUT_DDPM.replace("\"thresholding\": false", "\"thresholding\": true"));
    assertThatThrownBy(() -> Schedulers.load(dir))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("thresholding")
        .hasMessageContaining("scheduler_config.json");
  }

  @Test
  void rejectsUnknownEnumValuesNamingKeyAndFile() throws IOException {
    Path dir = schedulerDir(TRAIN_OUTPUT_DDPM.replace("\"scaled_linear\"", "\"karras\""));
    assertThatThrownBy(() -> Schedulers.load(dir))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("beta_schedule 'karras' is not supported")
        .hasMessageContaining("scheduler_config.json");
    Path dir2 = schedulerDir(TRAIN_OUTPUT_DDPM.replace("\"trailing\"", "\"uniform\""));
    assertThatThrownBy(() -> Schedulers.load(dir2))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("timestep_spacing 'uniform'");
  }

  @Test
  void rejectsLearnedVarianceForDdpm() throws IOException {
    Path dir = schedulerDir(TRAIN_OUTPUT_DDPM.replace("fixed_small", "learned_range"));
    assertThatThrownBy(() -> DDPMScheduler.load(dir))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("variance_type 'learned_range'")
        .hasMessageContaining("scheduler_config.json");
    // DDIM ignores variance_type, as diffusers does
    assertThat(DDIMScheduler.load(dir).config().varianceType()).isEqualTo(VarianceType.LEARNED_RANGE);
  }

  @Test
  void reportsAMissingConfigFile() {
    assertThatThrownBy(() -> Schedulers.load(tmp))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("scheduler_config.json")
        .hasMessageContaining("not found");
  }

  @Test
  void usesTrainedBetasVerbatim() throws IOException {
    StringBuilder betas = new StringBuilder();
    for (int i = 0; i < 10; i++) betas.append(i == 0 ? "" : ", ").append(0.01 * (i + 1));
    Path dir = schedulerDir("{\"_class_name\": \"DDIMScheduler\", \"num_train_timesteps\": 10, "
        + "\"trained_betas\": [" + betas + "]}");
    Scheduler s = Schedulers.load(dir);
    float[] b = marigold4j.torch.Tensors.toFloats(s.betas());
    assertThat(b[0]).isEqualTo(0.01f);
    assertThat(b[9]).isEqualTo(0.1f);
    assertThat(s.alphaCumprod(1)).isEqualTo((float) ((double) (1f - 0.01f) * (1f - 0.02f)));

    Path bad = schedulerDir("{\"_class_name\": \"DDIMScheduler\", \"num_train_timesteps\": 1000, "
        + "\"trained_betas\": [" + betas + "]}");
    assertThatThrownBy(() -> Schedulers.load(bad))
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining("trained_betas");
  }

  @Test
  void rescalesToZeroTerminalSnr() {
    SchedulerConfig c = new SchedulerConfig("DDIMScheduler", 1000, 0.00085, 0.012, BetaSchedule.SCALED_LINEAR, null,
        PredictionType.V_PREDICTION, TimestepSpacing.TRAILING, 1, false, false, 1.0, true, VarianceType.FIXED_SMALL,
        null);
    DDIMScheduler rescaled = new DDIMScheduler(c);
    DDIMScheduler plain = new DDIMScheduler(SchedulerConfig.stableDiffusion2());
    assertThat(rescaled.alphaCumprod(999)).isEqualTo(0f);
    assertThat((double) rescaled.alphaCumprod(0)).isCloseTo(plain.alphaCumprod(0), org.assertj.core.data.Offset
        .offset(1e-6));
  }

  @Test
  void parsesSpacingNamesAsTheCommandLinesWriteThem() {
    assertThat(TimestepSpacing.parse("trailing")).isEqualTo(TimestepSpacing.TRAILING);
    assertThat(TimestepSpacing.parse("leading")).isEqualTo(TimestepSpacing.LEADING);
    assertThat(TimestepSpacing.parse("linspace")).isEqualTo(TimestepSpacing.LINSPACE);
    assertThatThrownBy(() -> TimestepSpacing.parse("Trailing")).isInstanceOf(IllegalArgumentException.class);
  }
}
