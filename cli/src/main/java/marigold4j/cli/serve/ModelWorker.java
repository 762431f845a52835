package marigold4j.cli.serve;

import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one thread that runs the models: the engine's global generator (seeded per request) and the models' native
 * memory are used from this thread only. Jobs wait in a bounded queue; when it is full, a request is turned away with
 * 503 and a {@code Retry-After} rather than piling up.
 */
final class ModelWorker implements AutoCloseable {
  private final ThreadPoolExecutor executor;
  private final int capacity;
  private final AtomicInteger running = new AtomicInteger();

  /** @param capacity jobs that may wait while one runs */
  ModelWorker(int capacity) {
    if (capacity < 1) throw new IllegalArgumentException("the queue must hold at least one request, got " + capacity);
    this.capacity = capacity;
    this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(capacity), r -> {
      Thread t = new Thread(r, "marigold4j-model");
      t.setDaemon(true);
      return t;
    }, new ThreadPoolExecutor.AbortPolicy());
  }

  /**
   * Queues a job.
   *
   * @param retryAfterSeconds what a refused client is told to wait
   * @throws HttpError 503 with {@code Retry-After} when the queue is full
   */
  <T> Future<T> submit(Callable<T> job, long retryAfterSeconds) {
    try {
      return executor.submit(() -> {
        running.incrementAndGet();
        try {
          return job.call();
        } finally {
          running.decrementAndGet();
        }
      });
    } catch (RejectedExecutionException e) {
      throw new HttpError(503, executor.isShutdown() ? "the server is shutting down"
          : "busy: " + capacity + " requests are already waiting; retry later",
          Map.of("Retry-After", Long.toString(Math.max(1, retryAfterSeconds))));
    }
  }

  /** Jobs waiting (not counting the running one). */
  int waiting() {
    return executor.getQueue().size();
  }

  boolean busy() {
    return running.get() > 0;
  }

  int capacity() {
    return capacity;
  }

  @Override
  public void close() {
    executor.shutdownNow();
    try {
      // models are closed after this returns, so wait for a running prediction to finish
      executor.awaitTermination(10, TimeUnit.MINUTES);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
