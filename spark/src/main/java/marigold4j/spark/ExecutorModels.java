package marigold4j.spark;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import marigold4j.estimator.Detection;
import marigold4j.estimator.Estimator;
import marigold4j.estimator.Estimators;
import marigold4j.pipeline.Modality;
import marigold4j.torch.Engine;

/**
 * The models of one JVM (a Spark executor, or the driver in local mode): loaded lazily on first use, once per
 * {@link ModelKey}, and shared by every task of the JVM. An {@link Estimator} serves one caller at a time, so each
 * key holds at most {@code concurrency} models and a semaphore of as many permits: a task waits for a free model
 * instead of loading another, so the executor's memory is {@code concurrency} models however many task slots it has
 * (on a GPU executor, use one model per GPU).
 *
 * <p>Models are created outside any native-memory scope (their weights live as long as the JVM); each prediction runs
 * in its caller's scope.
 */
public final class ExecutorModels {
  private static final Map<ModelKey, Pool> POOLS = new ConcurrentHashMap<>();
  private static final AtomicInteger LOADS = new AtomicInteger();

  private ExecutorModels() {}

  /** A model borrowed for one prediction; {@link #close} returns it. */
  public interface Lease extends AutoCloseable {
    Estimator estimator();

    @Override
    void close();
  }

  /** Borrows a model of {@code key}, loading it on first use, waiting while all of the key's models are busy. */
  public static Lease acquire(ModelKey key, Map<String, String> hadoopConf) {
    return POOLS.computeIfAbsent(key, Pool::new).acquire(hadoopConf);
  }

  /** How many models this JVM has loaded since it started (tests: one per executor and key). */
  public static int loads() {
    return LOADS.get();
  }

  /** Closes every idle model (tests; an executor JVM just exits). */
  public static synchronized void closeAll() {
    for (Pool p : POOLS.values()) p.closeIdle();
    POOLS.clear();
  }

  private static final class Pool {
    final ModelKey key;
    final Semaphore permits;
    final ConcurrentLinkedDeque<Estimator> idle = new ConcurrentLinkedDeque<>();
    volatile Path dir;

    Pool(ModelKey key) {
      this.key = key;
      this.permits = new Semaphore(key.concurrency(), true);
    }

    Lease acquire(Map<String, String> hadoopConf) {
      permits.acquireUninterruptibly();
      Estimator e;
      try {
        e = idle.poll();
        if (e == null) e = load(hadoopConf);
      } catch (RuntimeException | Error t) {
        permits.release();
        throw t;
      }
      Estimator model = e;
      return new Lease() {
        boolean closed;

        @Override
        public Estimator estimator() {
          return model;
        }

        @Override
        public void close() {
          if (closed) return;
          closed = true;
          idle.push(model);
          permits.release();
        }
      };
    }

    private Estimator load(Map<String, String> hadoopConf) {
      synchronized (this) {
        if (dir == null) dir = CheckpointLocator.locate(key, hadoopConf);
      }
      Engine.setThreads(key.threads() > 0 ? key.threads()
          : Math.max(1, Runtime.getRuntime().availableProcessors() / key.concurrency()));
      Detection d = Estimators.detect(dir, key.checkpoint());
      if (key.modality() != null && d.maps().size() == 1) d = d.only(Modality.parse(key.modality()), "--modality");
      Estimator e = Estimators.load(dir, d, key.precisionValue(), key.device());
      LOADS.incrementAndGet();
      return e;
    }

    void closeIdle() {
      for (Estimator e; (e = idle.poll()) != null; ) e.close();
    }
  }
}
