package marigold4j.schedulers;

import java.nio.file.Path;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.schedulers.SchedulerConfig.TimestepSpacing;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Creates the scheduler a pipeline folder's {@code scheduler/scheduler_config.json} names. */
public final class Schedulers {
  private static final Logger LOG = LoggerFactory.getLogger(Schedulers.class);
  /** The file diffusers' {@code SchedulerMixin} reads from a scheduler folder. */
  public static final String CONFIG_FILE = "scheduler_config.json";

  private Schedulers() {}

  /**
   * The scheduler of the class in {@code _class_name} ({@code DDIMScheduler}, {@code DDPMScheduler} or {@code LCMScheduler}); any other class
   * is rejected with a {@link CheckpointException} naming it and the file.
   */
  public static Scheduler load(Path schedulerDir) {
    SchedulerConfig config = SchedulerConfig.read(configFile(schedulerDir));
    if ("LCMScheduler".equals(config.className())) return LCMScheduler.load(schedulerDir);
    return create(config);
  }

  /** {@link #load(Path)} with the timestep spacing overridden (the pipelines' and command lines' option). */
  public static Scheduler load(Path schedulerDir, TimestepSpacing spacing) {
    return create(SchedulerConfig.read(configFile(schedulerDir)).withTimestepSpacing(spacing));
  }

  /** The scheduler for a configuration, by its class name. */
  public static Scheduler create(SchedulerConfig config) {
    String cls = config.className();
    if ("DDIMScheduler".equals(cls)) return new DDIMScheduler(config);
    if ("DDPMScheduler".equals(cls)) return new DDPMScheduler(config);
    if ("LCMScheduler".equals(cls)) return new LCMScheduler(config, 50, 10.0);
    throw new CheckpointException((config.source() == null ? "scheduler config" : config.source().toString())
        + ": _class_name " + (cls == null ? "is missing" : "'" + cls + "' is not supported")
        + " (supported: DDIMScheduler, DDPMScheduler, LCMScheduler)");
  }

  /** The config file inside a scheduler folder. */
  static Path configFile(Path schedulerDir) {
    return schedulerDir.resolve(CONFIG_FILE);
  }

  /** Reads a config for a specific class, as diffusers' {@code <Class>.from_pretrained} does for any class name. */
  static SchedulerConfig readConfig(Path schedulerDir, String wanted) {
    SchedulerConfig config = SchedulerConfig.read(configFile(schedulerDir));
    if (config.className() != null && !config.className().equals(wanted)) {
      LOG.info("{}: config of {} loaded as {}", config.source(), config.className(), wanted);
    }
    return config;
  }
}
