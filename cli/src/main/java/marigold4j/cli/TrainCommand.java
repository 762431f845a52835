package marigold4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import marigold4j.estimator.geowizard.GeoWizardFamily;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;
import marigold4j.pipeline.Precision;
import marigold4j.torch.Engine;
import java.time.Duration;
import marigold4j.torch.ProcessGroups;
import marigold4j.train.DataParallel;
import marigold4j.train.E2EFTModel;
import marigold4j.train.E2EFTTrainable;
import marigold4j.train.E2EFTTrainer;
import marigold4j.train.GeoWizardE2EFTModel;
import marigold4j.train.LoaderBatches;
import marigold4j.train.MetricsLog;
import marigold4j.train.TrainOptions;
import marigold4j.train.TrainingCheckpoints;
import marigold4j.train.data.TrainingDataLoader;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code marigold4j train}: E2E-FT fine-tuning ({@code training/train.py} of the original for Marigold and Stable
 * Diffusion, {@code GeoWizard/geowizard/training/train_depth_normal.py --e2e_ft} for GeoWizard).
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"End-to-end fine-tune a diffusion depth / normals estimator (or Stable Diffusion 2) with a task "
        + "loss: one step at t = 999, decoded through the frozen VAE (E2E-FT's training/train.py).",
        "A GeoWizard base (e.g. lemonaddie/geowizard) trains depth and normals together, as "
        + "training/scripts/train_geowizard_e2e_ft.sh: the [depth, normal] batch with its class labels, the CLIP "
        + "image embedding, loss 0.5 x SSI-L1 + angular, the class embedding at --class-embedding-lr-mult times the "
        + "learning rate; the result loads in 'predict' as a GeoWizard pipeline.",
        "For long runs set MALLOC_ARENA_MAX=2 in the environment: it keeps the resident memory flat."})
public final class TrainCommand implements Callable<Integer> {
  /** The modality that trains GeoWizard's joint depth and normals. */
  static final String DEPTH_NORMALS = "depth_normals";

  @Spec CommandSpec spec;

  @Mixin HubOptions hub;

  @Option(names = "--base", required = true, paramLabel = "ID_OR_DIR",
      description = "Base checkpoint: a folder in the diffusers layout or a Hugging Face id (e.g. "
          + "prs-eth/marigold-depth-v1-0, stabilityai/stable-diffusion-2, lemonaddie/geowizard).")
  String base;

  @Option(names = "--modality", paramLabel = "depth|normals|depth_normals",
      description = "What to train: depth (scale-and-shift-invariant L1 loss), normals (angular loss), or "
          + "depth_normals (GeoWizard: both together; the default and the only choice for a GeoWizard base). "
          + "Required for other bases.")
  String modality;

  @Option(names = "--output", required = true, paramLabel = "DIR",
      description = "Output folder: checkpoints, logs/metrics.jsonl and, at the end, the fine-tuned pipeline.")
  Path output;

  @Option(names = "--hypersim-dir", paramLabel = "DIR", defaultValue = "data/hypersim/processed",
      description = "Processed Hypersim folder (default: ${DEFAULT-VALUE}; skipped when absent and not given).")
  Path hypersimDir;

  @Option(names = "--vkitti-dir", paramLabel = "DIR", defaultValue = "data/virtual_kitti_2",
      description = "Virtual KITTI 2 folder (default: ${DEFAULT-VALUE}; skipped when absent and not given).")
  Path vkittiDir;

  @Option(names = "--max-train-steps", defaultValue = "20000", paramLabel = "N",
      description = "Optimizer steps in total (default: ${DEFAULT-VALUE}).")
  long maxTrainSteps;

  @Option(names = "--train-batch-size", defaultValue = "2", paramLabel = "N",
      description = "Samples per micro-batch (default: ${DEFAULT-VALUE}).")
  int trainBatchSize;

  @Option(names = "--gradient-accumulation-steps", defaultValue = "16", paramLabel = "N",
      description = "Micro-batches per optimizer step (default: ${DEFAULT-VALUE}).")
  int gradientAccumulationSteps;

  @Option(names = "--learning-rate", defaultValue = "3e-5", paramLabel = "LR",
      description = "AdamW base learning rate (default: ${DEFAULT-VALUE}).")
  double learningRate;

  @Option(names = {"--lr-exp-warmup-steps", "--lr-warmup-steps"}, defaultValue = "100", paramLabel = "N",
      description = "Linear learning-rate warm-up steps (default: ${DEFAULT-VALUE}; --lr-warmup-steps is the "
          + "GeoWizard script's spelling).")
  long lrExpWarmupSteps;

  @Option(names = "--lr-total-iter-length", defaultValue = "20000", paramLabel = "N",
      description = "Step at which the exponentially decaying learning rate reaches 1%% of its base "
          + "(default: ${DEFAULT-VALUE}).")
  long lrTotalIterLength;

  @Option(names = "--class-embedding-lr-mult", defaultValue = "10", paramLabel = "X",
      description = "GeoWizard only: the UNet's class-embedding parameters learn X times faster (a second AdamW "
          + "parameter group; default: ${DEFAULT-VALUE}).")
  double classEmbeddingLrMult;

  @Option(names = "--max-grad-norm", defaultValue = "1.0", paramLabel = "X",
      description = "Gradients are clipped to this total L2 norm (default: ${DEFAULT-VALUE}).")
  double maxGradNorm;

  @Option(names = "--adam-beta1", defaultValue = "0.9", paramLabel = "B", description = "AdamW beta1 (default: ${DEFAULT-VALUE}).")
  double adamBeta1;

  @Option(names = "--adam-beta2", defaultValue = "0.999", paramLabel = "B", description = "AdamW beta2 (default: ${DEFAULT-VALUE}).")
  double adamBeta2;

  @Option(names = "--adam-weight-decay", defaultValue = "1e-2", paramLabel = "WD",
      description = "AdamW decoupled weight decay (default: ${DEFAULT-VALUE}).")
  double adamWeightDecay;

  @Option(names = "--adam-epsilon", defaultValue = "1e-8", paramLabel = "EPS", description = "AdamW epsilon (default: ${DEFAULT-VALUE}).")
  double adamEpsilon;

  @Option(names = "--checkpointing-steps", defaultValue = "20000", paramLabel = "N",
      description = "Save a resumable checkpoint-<step>/ every N optimizer steps (default: ${DEFAULT-VALUE}).")
  long checkpointingSteps;

  @Option(names = "--checkpoints-total-limit", paramLabel = "N",
      description = "Keep at most N checkpoints, deleting the oldest (default: keep all).")
  Integer checkpointsTotalLimit;

  @Option(names = "--resume-from-checkpoint", paramLabel = "latest|PATH",
      description = "Continue a run: 'latest' (the newest checkpoint in --output; a fresh run if there is none) or a "
          + "checkpoint folder.")
  String resumeFromCheckpoint;

  @Option(names = "--noise-type", paramLabel = "zeros|gaussian|pyramid",
      description = "The noise latent next to the RGB latent (the E2E-FT scripts use zeros). Omitted: the UNet sees "
          + "the RGB latent alone (only for 4-channel Stable Diffusion bases; GeoWizard needs one). A 4-channel "
          + "base is widened to 8.")
  String noiseType;

  @Option(names = "--seed", defaultValue = "0", paramLabel = "N",
      description = "Seed of the noise draws, data order and flips, as set_seed: one stream per generator for the "
          + "whole run, saved in checkpoints (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--no-shuffle", description = "Read the datasets in order instead of shuffling each epoch.")
  boolean noShuffle;

  @Option(names = "--hflip-prob", defaultValue = "0.5", paramLabel = "P",
      description = "Probability of a horizontal flip per sample (default: ${DEFAULT-VALUE}).")
  double hflipProb;

  @Option(names = "--mixed-precision", defaultValue = "no", paramLabel = "no|bf16|fp16",
      description = "Frozen VAE / text encoder in this dtype and the UNet under autocast; UNet master weights stay "
          + "float32 (default: ${DEFAULT-VALUE}).")
  String mixedPrecision;

  @Option(names = "--gradient-checkpointing",
      description = "Recompute the UNet's activations block by block in the backward pass instead of keeping them: "
          + "same results, less memory, more time per step.")
  boolean gradientCheckpointing;

  @Option(names = "--data-workers", defaultValue = "2", paramLabel = "N",
      description = "Background threads decoding training images (default: ${DEFAULT-VALUE}).")
  int dataWorkers;

  @Option(names = "--nproc-per-node", paramLabel = "N",
      description = "Data-parallel training as torchrun: start N worker processes on this node (one per GPU, or CPU "
          + "workers) and supervise them; the world size is --nnodes x N. Each rank trains on its own shard of "
          + "every global batch; the effective batch is --train-batch-size x --gradient-accumulation-steps x world "
          + "size. Without it, a process whose environment has WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR, "
          + "MASTER_PORT (torchrun, Slurm, Kubernetes PyTorchJob) is one worker of such a job.")
  Integer nprocPerNode;

  @Option(names = "--nnodes", defaultValue = "1", paramLabel = "M",
      description = "Machines in the job (with --nproc-per-node; default: ${DEFAULT-VALUE}).")
  int nnodes;

  @Option(names = "--node-rank", defaultValue = "0", paramLabel = "R",
      description = "This machine's index, 0..M-1; node 0 hosts the rendezvous (default: ${DEFAULT-VALUE}).")
  int nodeRank;

  @Option(names = "--master-addr", defaultValue = "127.0.0.1", paramLabel = "HOST",
      description = "Address of node 0, where rank 0 hosts the rendezvous store (default: ${DEFAULT-VALUE}).")
  String masterAddr;

  @Option(names = "--master-port", defaultValue = "29500", paramLabel = "PORT",
      description = "TCP port of the rendezvous on node 0 (default: ${DEFAULT-VALUE}).")
  int masterPort;

  @Option(names = "--backend", paramLabel = "gloo|nccl",
      description = "torch.distributed backend: gloo (CPU tensors; the default, training runs on the CPU) or nccl "
          + "(CUDA GPUs, GPU build only).")
  String backend;

  @Option(names = "--dist-timeout", defaultValue = "600", paramLabel = "SECONDS",
      description = "Bound on the rendezvous and on every collective: a rank that died or hangs makes the others "
          + "stop with a message naming it after at most this long (default: ${DEFAULT-VALUE}; must exceed the "
          + "time rank 0 needs to write a checkpoint).")
  long distTimeout;

  @Override
  public Integer call() {
    if (!(distTimeout > 0)) throw new IllegalArgumentException("--dist-timeout must be > 0 seconds, got " + distTimeout);
    ProcessGroups.BackendKind backendKind = backend == null ? ProcessGroups.BackendKind.GLOO
        : ProcessGroups.BackendKind.parse(backend);
    if (backendKind == ProcessGroups.BackendKind.NCCL && !Engine.cudaAvailable()) {
      throw new IllegalArgumentException("--backend nccl needs CUDA GPUs and the GPU build (-Pgpu), and this machine "
          + "has none: use --backend gloo");
    }
    Optional<ProcessGroups.Config> worker = ProcessGroups.Config.fromEnvironment(System.getenv(), backendKind,
        Duration.ofSeconds(distTimeout));
    if (nprocPerNode != null) {
      if (worker.isPresent()) {
        throw new IllegalArgumentException("--nproc-per-node given in a process that is already a distributed "
            + "worker (WORLD_SIZE is set in its environment): give one or the other");
      }
      // the whole command line: this subcommand's arguments follow its name
      java.util.List<String> all = spec.commandLine().getParseResult().originalArgs();
      java.util.List<String> args = all.subList(all.indexOf(spec.name()) + 1, all.size());
      return DistributedLauncher.launch(args, nprocPerNode, nnodes,
          nodeRank, masterAddr, masterPort, spec.commandLine().getOut(), spec.commandLine().getErr());
    }
    if (worker.isPresent() && worker.get().worldSize() > 1) {
      DataParallel dp = DataParallel.join(worker.get());
      try (dp) {
        return train(dp);
      } catch (RuntimeException e) {
        dp.reportFailure(e.getMessage() == null ? e.getClass().getSimpleName() : firstLine(e.getMessage()));
        throw e;
      }
    }
    return train(null);
  }

  private static String firstLine(String s) {
    int eol = s.indexOf('\n');
    return eol < 0 ? s : s.substring(0, eol);
  }

  private Integer train(DataParallel dp) {
    boolean main = dp == null || dp.isMain();
    PrintWriter out = main ? spec.commandLine().getOut() : new PrintWriter(java.io.OutputStream.nullOutputStream());
    if (dp != null && System.getenv("OMP_NUM_THREADS") != null) {
      try {
        Engine.setThreads(Integer.parseInt(System.getenv("OMP_NUM_THREADS").strip()));
      } catch (NumberFormatException ignored) {
        // libtorch reads it itself
      }
    }
    NoiseType noise = noiseType == null || noiseType.equalsIgnoreCase("none") ? null : NoiseType.parse(noiseType);
    Precision precision = switch (mixedPrecision.toLowerCase(Locale.ROOT)) {
      case "no" -> Precision.FP32;
      case "bf16" -> Precision.BF16;
      case "fp16" -> Precision.FP16;
      default -> throw new IllegalArgumentException("--mixed-precision must be no, bf16 or fp16, got '"
          + mixedPrecision + "'");
    };
    TrainOptions options = new TrainOptions(maxTrainSteps, trainBatchSize, gradientAccumulationSteps, learningRate,
        adamBeta1, adamBeta2, adamWeightDecay, adamEpsilon, maxGradNorm, lrExpWarmupSteps, lrTotalIterLength,
        checkpointingSteps, checkpointsTotalLimit == null ? 0 : checkpointsTotalLimit, seed, gradientCheckpointing);
    if (!(hflipProb >= 0 && hflipProb <= 1)) throw new IllegalArgumentException("--hflip-prob must be in [0, 1]");
    TrainingDataLoader loader = dataLoader(dp);
    Path baseDir = hub.resolve(base, null, spec.commandLine().getErr());
    String mod = modality(baseDir);
    if (mod.equals(DEPTH_NORMALS) && noise == null) {
      throw new IllegalArgumentException("GeoWizard training needs --noise-type (train_geowizard_e2e_ft.sh uses "
          + "zeros)");
    }
    Engine.init();
    if (main) writeArguments(mod, noise);
    try (E2EFTTrainable model = mod.equals(DEPTH_NORMALS)
            ? GeoWizardE2EFTModel.load(baseDir, noise, precision, classEmbeddingLrMult)
            : E2EFTModel.load(baseDir, Modality.parse(mod), noise, precision);
        E2EFTTrainer trainer = new E2EFTTrainer(model, options);
        LoaderBatches data = new LoaderBatches(loader)) {
      if (main) {
        for (Path leftover : TrainingCheckpoints.removeLeftovers(output)) {
          out.println("removed " + leftover.getFileName() + " (an interrupted checkpoint save)");
        }
      }
      trainer.distributed(dp);
      Optional<Path> resume = TrainingCheckpoints.resolve(output, resumeFromCheckpoint);
      if (resumeFromCheckpoint != null && resume.isEmpty()) {
        out.println("no checkpoint in " + output + ": starting a new training run");
      }
      resume.ifPresent(ckpt -> out.println("resuming from " + ckpt.getFileName()));
      resume.ifPresent(ckpt -> trainer.restore(TrainingCheckpoints.readState(ckpt), ckpt, data));
      out.printf(Locale.ROOT, "training %s from %s: %d steps of %d x %d samples, lr %.3g, %s%n", mod, base,
          maxTrainSteps, gradientAccumulationSteps, trainBatchSize, learningRate,
          loader.datasets().stream().map(d -> d.name() + " (" + d.size() + ")").toList());
      int world = dp == null ? 1 : dp.worldSize();
      if (dp != null) {
        out.printf(Locale.ROOT, "data parallel: %d ranks (%s), effective batch %d per rank x %d accumulation x %d "
            + "ranks = %d samples per optimizer step%n", world, dp.group().config().backend().name()
            .toLowerCase(Locale.ROOT), trainBatchSize, gradientAccumulationSteps, world,
            (long) trainBatchSize * gradientAccumulationSteps * world);
      }
      out.flush();
      runWithProgress(trainer, data, out);
      if (data.badItems() > 0) {
        spec.commandLine().getErr().println((dp == null ? "" : "rank " + dp.rank() + ": ") + data.badItems()
            + " bad training item(s) were reported and skipped");
      }
      if (main) {
        model.exportPipeline(baseDir, output, base);
        out.println("saved the fine-tuned pipeline to " + output);
      }
    }
    out.flush();
    return 0;
  }

  /**
   * The modality to train: a GeoWizard base trains depth and normals together ({@value #DEPTH_NORMALS}, also when
   * --modality is omitted); other bases need --modality depth or normals.
   */
  private String modality(Path baseDir) {
    boolean geoWizard = new GeoWizardFamily().detect(baseDir, base).isPresent();
    String m = modality == null ? null : modality.toLowerCase(Locale.ROOT).replace('-', '_');
    if (geoWizard) {
      if (m != null && !m.equals(DEPTH_NORMALS)) {
        throw new IllegalArgumentException(base + " is a GeoWizard checkpoint: it trains depth and normals together "
            + "(--modality " + DEPTH_NORMALS + " or no --modality), not '" + modality + "'");
      }
      return DEPTH_NORMALS;
    }
    if (m == null) throw new IllegalArgumentException("--modality is required for " + base + " (depth or normals)");
    if (m.equals(DEPTH_NORMALS)) {
      throw new IllegalArgumentException("--modality " + DEPTH_NORMALS + " trains GeoWizard, and " + base + " is not a "
          + "GeoWizard checkpoint (unet/ with a projection class embedding, image_encoder/, feature_extractor/)");
    }
    return Modality.parse(m).cliName();
  }

  private void runWithProgress(E2EFTTrainer trainer, LoaderBatches data, PrintWriter out) {
    long start = trainer.globalStep();
    if (System.console() != null && out == spec.commandLine().getOut()) {
      try (ProgressBar bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(maxTrainSteps)
          .setStyle(ProgressBarStyle.ASCII).startsFrom(start, java.time.Duration.ZERO).build()) {
        trainer.train(data, output, r -> {
          bar.stepTo(r.step() + 1);
          bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f lr %.2e%s", r.loss(), r.lr(),
              r.skipped() ? " (skipped)" : ""));
        });
      }
    } else {
      trainer.train(data, output, r -> {
        out.printf(Locale.ROOT, "step %d/%d loss %.5f lr %.3e grad_norm %.4f%s%n", r.step() + 1, maxTrainSteps,
            r.loss(), r.lr(), r.gradNormPreClip(), r.skipped() ? " skipped (non-finite gradient)" : "");
        out.flush();
      });
    }
    out.println("metrics: " + output.resolve(MetricsLog.DEFAULT_FILE));
    out.flush();
  }

  /** Hypersim and/or Virtual KITTI 2: a default folder that does not exist is left out, a given one must exist. */
  private TrainingDataLoader dataLoader(DataParallel dp) {
    var parsed = spec.commandLine().getParseResult();
    boolean hyperGiven = parsed.hasMatchedOption("--hypersim-dir");
    boolean vkittiGiven = parsed.hasMatchedOption("--vkitti-dir");
    if (hyperGiven && !Files.isDirectory(hypersimDir)) {
      throw new IllegalArgumentException(hypersimDir + ": Hypersim folder not found (--hypersim-dir)");
    }
    if (vkittiGiven && !Files.isDirectory(vkittiDir)) {
      throw new IllegalArgumentException(vkittiDir + ": Virtual KITTI 2 folder not found (--vkitti-dir)");
    }
    boolean useHyper = Files.isDirectory(hypersimDir) && (hyperGiven || !vkittiGiven);
    boolean useVkitti = Files.isDirectory(vkittiDir) && (vkittiGiven || !hyperGiven);
    if (!useHyper && !useVkitti) {
      throw new IllegalArgumentException("no training data: neither " + hypersimDir + " nor " + vkittiDir
          + " exists (give --hypersim-dir and/or --vkitti-dir; see 'marigold4j prepare')");
    }
    PrintWriter err = spec.commandLine().getErr();
    return TrainingDataLoader.builder().hypersim(useHyper ? hypersimDir : null).vkitti(useVkitti ? vkittiDir : null)
        .shard(dp == null ? 0 : dp.rank(), dp == null ? 1 : dp.worldSize())
        .batchSize(trainBatchSize).shuffle(!noShuffle).seed(seed).hflipProb(hflipProb).workers(dataWorkers)
        .onBadItem(msg -> {
          err.println("warning: skipped bad training item: " + msg);
          err.flush();
        }).build();
  }

  /** train.py's arguments.txt, with the Java option names. */
  private void writeArguments(String mod, NoiseType noise) {
    String text = String.join("\n",
        "modality: " + mod,
        "noise_type: " + (noise == null ? "None" : noise.name().toLowerCase(Locale.ROOT)),
        "lr_exp_warmup_steps: " + lrExpWarmupSteps,
        "lr_total_iter_length: " + lrTotalIterLength,
        "base: " + base,
        "output: " + output,
        "seed: " + seed,
        "train_batch_size: " + trainBatchSize,
        "max_train_steps: " + maxTrainSteps,
        "gradient_accumulation_steps: " + gradientAccumulationSteps,
        "gradient_checkpointing: " + gradientCheckpointing,
        "learning_rate: " + learningRate,
        "class_embedding_lr_mult: " + (mod.equals(DEPTH_NORMALS) ? classEmbeddingLrMult : "None"),
        "adam_beta1: " + adamBeta1,
        "adam_beta2: " + adamBeta2,
        "adam_weight_decay: " + adamWeightDecay,
        "adam_epsilon: " + adamEpsilon,
        "max_grad_norm: " + maxGradNorm,
        "mixed_precision: " + mixedPrecision,
        "checkpointing_steps: " + checkpointingSteps,
        "checkpoints_total_limit: " + (checkpointsTotalLimit == null ? "None" : checkpointsTotalLimit),
        "resume_from_checkpoint: " + (resumeFromCheckpoint == null ? "None" : resumeFromCheckpoint),
        "no_shuffle: " + noShuffle,
        "hflip_prob: " + hflipProb);
    try {
      Files.createDirectories(output);
      Files.writeString(output.resolve("arguments.txt"), text);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(output + ": cannot write arguments.txt: " + e.getMessage(), e);
    }
  }
}
