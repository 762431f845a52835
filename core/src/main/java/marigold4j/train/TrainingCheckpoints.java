package marigold4j.train;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.image.AtomicFiles;
import marigold4j.models.unet.UNet2DConditionModel;
import marigold4j.nn.Parameter;
import marigold4j.torch.Optim;
import marigold4j.torch.Tensors;
import marigold4j.weights.SafeTensors;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Training checkpoints, {@code <output>/checkpoint-<step>/}: {@code unet/} (config.json and safetensors weights, as
 * train.py's save hook writes them), {@code optimizer.pt} (libtorch AdamW state archive),
 * {@code trainer_state.json} (step = LR-scheduler step, data position, RNG seed) and {@code random_states.json} (the
 * states of the run's random generators, {@link TrainingRandom}; accelerate saves them as
 * {@code random_states_0.pkl}). A checkpoint is assembled in a
 * hidden temporary folder and renamed into place, so a crash never leaves a half-written {@code checkpoint-<step>}.
 */
public final class TrainingCheckpoints {
  private static final Logger LOG = LoggerFactory.getLogger(TrainingCheckpoints.class);
  /**
   * A checkpoint being written ({@link #save} renames it into place when complete); also the 0700 temporary folder
   * names of earlier versions ({@code .checkpoint-N.tmp<digits>}).
   */
  private static final Pattern LEFTOVER = Pattern.compile("\\.checkpoint-\\d+\\..*tmp.*");
  private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  static final String STATE_FILE = "trainer_state.json";
  static final String OPTIMIZER_FILE = "optimizer.pt";
  static final String RANDOM_FILE = "random_states.json";
  /** Data-parallel runs: every rank's data position ({@link DataStates}). */
  static final String DATA_STATES_FILE = "data_states.json";

  /** Data-parallel runs: rank r's random generators, {@code random_states_<r>.json} (accelerate: .pkl). */
  static String randomFile(int rank) {
    return "random_states_" + rank + ".json";
  }

  /** What a data-parallel checkpoint holds for one rank: its data shard's position and its generators. */
  public record RankState(@JsonProperty("data_position") long dataPosition,
      @JsonProperty("data_state") String dataState, @JsonProperty("random") TrainingRandom.State random) {}

  /** {@code data_states.json}: the world size that wrote the checkpoint and each rank's data position. */
  public record DataStates(@JsonProperty("world_size") int worldSize,
      @JsonProperty("ranks") List<RankData> ranks) {}

  /** One rank's entry of {@link DataStates}. */
  public record RankData(@JsonProperty("data_position") long dataPosition,
      @JsonProperty("data_state") String dataState) {}

  private TrainingCheckpoints() {}

  /**
   * {@code trainer_state.json}.
   *
   * @param globalStep optimizer steps done (also the LR scheduler's step count)
   * @param dataPosition micro-batches taken from the data source
   * @param seed the run's seed; with {@code dataPosition} it determines every later random draw
   * @param lrSchedulerStep the LR schedule's step (equal to {@code globalStep})
   * @param dataState the data source's own resume state ({@link BatchSource#checkpointState()}), or null
   */
  public record State(@JsonProperty("global_step") long globalStep, @JsonProperty("data_position") long dataPosition,
      @JsonProperty("seed") long seed, @JsonProperty("lr_scheduler_step") long lrSchedulerStep,
      @JsonProperty("data_state") String dataState) {}

  /**
   * Writes {@code checkpoint-<step>} for the trainer's current state, after pruning to {@code totalLimit - 1}.
   *
   * <p>In a data-parallel run ({@link E2EFTTrainer#dataParallel()}) every rank calls it: the ranks' data positions
   * and generator states are gathered to rank 0, which writes the temporary folder alone and renames it into place
   * only after a barrier has shown every rank at the same step with identical parameters.
   */
  public static Path save(Path outputDir, E2EFTTrainer trainer, long dataPosition, String dataState, int totalLimit) {
    long step = trainer.globalStep();
    DataParallel dp = trainer.dataParallel();
    Path target = outputDir.resolve("checkpoint-" + step);
    List<RankState> ranks = null;
    if (dp != null) {
      ranks = new ArrayList<>();
      try {
        byte[] mine = JSON.writeValueAsBytes(new RankState(dataPosition, dataState, trainer.random().state()));
        for (byte[] b : dp.allgather(mine)) ranks.add(JSON.readValue(b, RankState.class));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot exchange the ranks' states: " + e.getMessage(), e);
      }
      dp.checkIdentical(trainer.model().trainableParameters(), step);
      if (!dp.isMain()) {
        dp.barrier("checkpoint-" + step + " written by rank 0");
        return target;
      }
    }
    Path tmp = write(outputDir, trainer, dataPosition, dataState, totalLimit, ranks);
    if (dp != null) dp.barrier("checkpoint-" + step + " written by rank 0");
    try {
      if (Files.exists(target)) deleteTree(target);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint-" + step + " in " + outputDir + ": " + e.getMessage(), e);
    }
    LOG.info("saved checkpoint {}", target);
    return target;
  }

  /** Writes the checkpoint into a new temporary folder of {@code outputDir} and returns it. */
  private static Path write(Path outputDir, E2EFTTrainer trainer, long dataPosition, String dataState,
      int totalLimit, List<RankState> ranks) {
    long step = trainer.globalStep();
    try {
      Files.createDirectories(outputDir);
      if (totalLimit > 0) prune(outputDir, totalLimit - 1);
      Path tmp = AtomicFiles.newTempDirectory(outputDir, ".checkpoint-" + step + ".");
      Path unetDir = Files.createDirectories(tmp.resolve("unet"));
      JSON.writeValue(unetDir.resolve("config.json").toFile(), trainer.model().unetConfigJson());
      SafeTensors.save(unetDir.resolve(UNet2DConditionModel.WEIGHTS_FILE), unetStateDict(trainer.model()), null);
      Optim.save(trainer.optimizer(), tmp.resolve(OPTIMIZER_FILE));
      State state = new State(step, dataPosition, trainer.options().seed(), step, dataState);
      JSON.writeValue(tmp.resolve(STATE_FILE).toFile(), state);
      JSON.writeValue(tmp.resolve(RANDOM_FILE).toFile(), trainer.random().state());
      if (ranks != null) {
        List<RankData> data = new ArrayList<>();
        for (int r = 0; r < ranks.size(); r++) {
          JSON.writeValue(tmp.resolve(randomFile(r)).toFile(), ranks.get(r).random());
          data.add(new RankData(ranks.get(r).dataPosition(), ranks.get(r).dataState()));
        }
        JSON.writeValue(tmp.resolve(DATA_STATES_FILE).toFile(), new DataStates(ranks.size(), data));
      }
      return tmp;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint-" + step + " in " + outputDir + ": " + e.getMessage(), e);
    }
  }

  /** The UNet's state dict (parameters and persistent buffers), detached. */
  static Map<String, Tensor> unetStateDict(E2EFTTrainable model) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    model.unet().stateDictSlots().forEach((k, p) -> out.put(k, p.get().detach()));
    return out;
  }

  /**
   * Removes what a killed run left of checkpoints it was writing ({@code .checkpoint-<step>.<random>.tmp} folders,
   * several GB each with real models) and returns them. Called when a run starts or resumes in {@code outputDir};
   * two runs must never share an output folder.
   */
  public static List<Path> removeLeftovers(Path outputDir) {
    if (!Files.isDirectory(outputDir)) return List.of();
    List<Path> removed = new ArrayList<>();
    try (Stream<Path> s = Files.list(outputDir)) {
      for (Path p : s.filter(p -> LEFTOVER.matcher(p.getFileName().toString()).matches()).toList()) {
        deleteTree(p);
        removed.add(p);
        LOG.info("removed {}, left by an interrupted checkpoint save", p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot clean " + outputDir + ": " + e.getMessage(), e);
    }
    return removed;
  }

  /** The checkpoints in {@code outputDir}, oldest first. */
  public static List<Path> list(Path outputDir) {
    if (!Files.isDirectory(outputDir)) return List.of();
    try (Stream<Path> s = Files.list(outputDir)) {
      return s.filter(p -> Files.isDirectory(p) && NAME.matcher(p.getFileName().toString()).matches())
          .sorted(Comparator.comparingLong(TrainingCheckpoints::stepOf)).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Resolves {@code --resume-from-checkpoint}: {@code latest} is the highest-numbered checkpoint in
   * {@code outputDir} (empty when there is none: a fresh run, as in the original); anything else is a checkpoint
   * folder, as given or by name inside {@code outputDir}.
   *
   * @throws CheckpointException when a named checkpoint does not exist
   */
  public static Optional<Path> resolve(Path outputDir, String spec) {
    if (spec == null) return Optional.empty();
    if (spec.equals("latest")) {
      List<Path> all = list(outputDir);
      return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }
    Path p = Path.of(spec);
    if (Files.isDirectory(p)) return Optional.of(p);
    Path inOutput = outputDir.resolve(p.getFileName().toString());
    if (Files.isDirectory(inOutput)) return Optional.of(inOutput);
    throw new CheckpointException(p, "checkpoint folder not found (nor " + inOutput + ")");
  }

  /** The world size that wrote a checkpoint (1 for a single-process run). */
  public static int worldSize(Path checkpointDir) {
    Path file = checkpointDir.resolve(DATA_STATES_FILE);
    if (!Files.isRegularFile(file)) return 1;
    try {
      return JSON.readValue(file.toFile(), DataStates.class).worldSize();
    } catch (IOException e) {
      throw new CheckpointException(file, "cannot read: " + e.getMessage(), e);
    }
  }

  /** Fails when a data-parallel run wrote the checkpoint (its shards cannot be merged into one process). */
  static void requireSingleProcess(Path checkpointDir) {
    int world = worldSize(checkpointDir);
    if (world != 1) {
      throw new CheckpointException(checkpointDir, "was written by " + world + " ranks: resume it with " + world
          + " ranks (--nproc-per-node x --nnodes), each rank continues its own data shard");
    }
  }

  /** Rank {@code rank}'s data position and generator states in a checkpoint written by {@code world} ranks. */
  static RankState readRankState(Path checkpointDir, int rank, int world) {
    int written = worldSize(checkpointDir);
    if (written != world) {
      throw new CheckpointException(checkpointDir, "was written by " + written + " rank(s) and this run has " + world
          + ": resume it with the world size that wrote it (each rank continues its own data shard)");
    }
    Path file = checkpointDir.resolve(DATA_STATES_FILE);
    Path random = checkpointDir.resolve(randomFile(rank));
    try {
      RankData d = JSON.readValue(file.toFile(), DataStates.class).ranks().get(rank);
      if (!Files.isRegularFile(random)) throw new CheckpointException(random, "not found: incomplete checkpoint");
      return new RankState(d.dataPosition(), d.dataState(), JSON.readValue(random.toFile(), TrainingRandom.State.class));
    } catch (IOException e) {
      throw new CheckpointException(file, "cannot read: " + e.getMessage(), e);
    }
  }

  /** Reads {@code trainer_state.json} of a checkpoint. */
  public static State readState(Path checkpointDir) {
    Path file = checkpointDir.resolve(STATE_FILE);
    try {
      return JSON.readValue(file.toFile(), State.class);
    } catch (NoSuchFileException | java.io.FileNotFoundException e) {
      throw new CheckpointException(file, "not found: not a training checkpoint");
    } catch (IOException e) {
      throw new CheckpointException(file, "cannot read: " + e.getMessage(), e);
    }
  }

  /**
   * Copies the checkpoint's UNet weights into the live parameters and restores the optimizer state and the random
   * generators' states.
   */
  static void loadInto(Path checkpointDir, E2EFTTrainer trainer) {
    Path weights = checkpointDir.resolve("unet").resolve(UNet2DConditionModel.WEIGHTS_FILE);
    if (!Files.isRegularFile(weights)) throw new CheckpointException(weights, "not found: incomplete checkpoint");
    Map<String, Tensor> stored = SafeTensors.load(weights);
    Map<String, Parameter> slots = trainer.model().unet().stateDictSlots();
    List<String> problems = new ArrayList<>();
    slots.forEach((k, p) -> {
      Tensor t = stored.get(k);
      if (t == null) {
        problems.add("missing " + k);
      } else if (!java.util.Arrays.equals(Tensors.shape(t), p.shape())) {
        problems.add("wrong shape " + k);
      }
    });
    for (String k : stored.keySet()) if (!slots.containsKey(k)) problems.add("unexpected " + k);
    if (!problems.isEmpty()) {
      throw new CheckpointException(weights, "does not match the model being trained: " + problems);
    }
    // In place, so the optimizer keeps pointing at the same tensors.
    try (NoGradGuard ng = new NoGradGuard()) {
      slots.forEach((k, p) -> p.get().copy_(stored.get(k)));
    }
    Path opt = checkpointDir.resolve(OPTIMIZER_FILE);
    if (!Files.isRegularFile(opt)) throw new CheckpointException(opt, "not found: incomplete checkpoint");
    Optim.load(trainer.optimizer(), opt);
    Path random = checkpointDir.resolve(RANDOM_FILE);
    if (Files.isRegularFile(random)) {
      try {
        trainer.random().restore(JSON.readValue(random.toFile(), TrainingRandom.State.class));
      } catch (IOException | IllegalArgumentException e) {
        throw new CheckpointException(random, "cannot read: " + e.getMessage(), e);
      }
    } else {
      // written before the generators' states were saved: noise cannot continue the uninterrupted run's stream
      LOG.warn("{} has no {}: the random generators restart from the seed", checkpointDir, RANDOM_FILE);
    }
  }

  /** Deletes the oldest checkpoints so that at most {@code keep} remain. */
  static void prune(Path outputDir, int keep) throws IOException {
    List<Path> all = list(outputDir);
    for (int i = 0; i < all.size() - keep; i++) {
      LOG.info("removing old checkpoint {}", all.get(i));
      deleteTree(all.get(i));
    }
  }

  private static long stepOf(Path p) {
    Matcher m = NAME.matcher(p.getFileName().toString());
    return m.matches() ? Long.parseLong(m.group(1)) : -1;
  }

  static void deleteTree(Path root) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
    }
  }
}
