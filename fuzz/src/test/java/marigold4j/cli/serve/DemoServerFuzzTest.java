package marigold4j.cli.serve;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import marigold4j.estimator.EstimatorSettings;
import marigold4j.image.PilImage;
import marigold4j.pipeline.Modality;
import marigold4j.pipeline.NoiseType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Timeout;

/**
 * Raw requests (request line, headers, body) sent to a running {@link DemoServer} in this JVM, serving a stub model
 * that predicts instantly, through its front door ({@link FrontDoor}, which parses request heads and bodies) and the
 * JDK server behind it. Whatever the bytes, the server answers with a status below 500 (or closes the connection,
 * e.g. when nothing arrived; 501 for an unknown transfer coding and 505 are protocol answers), and afterwards still
 * answers
 * {@code GET /api/health} with 200.
 */
class DemoServerFuzzTest {
  private static DemoServer server;

  static synchronized DemoServer server() {
    if (server == null) {
      // the harness talks to its own server on the loopback address: not the request forgery Jazzer's sanitizer
      // reports for every connection (it stays armed for any other host)
      com.code_intelligence.jazzer.api.BugDetectors.allowNetworkConnections(
          (host, port) -> host.equals("127.0.0.1") || host.equals("localhost"));
      server = DemoServer.start(List.of(new StubModel()), DemoServer.Config.defaults().withPort(0).withQueueCapacity(2));
    }
    return server;
  }

  @AfterAll
  static synchronized void stop() {
    if (server != null) server.close();
    server = null;
  }

  @FuzzTest
  @Timeout(20)
  void request(byte[] data) throws IOException {
    int port = server().port();
    String answer = exchange(port, data);
    int status = status(answer);
    // 501 (a transfer coding it does not know, RFC 9112 6.1) and 505 are the JDK server's protocol answers to the
    // client; any other 5xx is the server failing on a client's bytes
    if (status >= 500 && status != 501 && status != 505) {
      throw new AssertionError("server error for a client's bytes: " + firstLines(answer));
    }
    String health = exchange(port, "GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        .getBytes(StandardCharsets.US_ASCII));
    if (status(health) != 200) throw new AssertionError("health no longer answers 200: " + firstLines(health));
  }

  /** Sends the bytes, half-closes, and reads the answer (empty when the server closed without one). */
  private static String exchange(int port, byte[] request) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(5000);
      try {
        s.getOutputStream().write(request);
        s.shutdownOutput();
      } catch (IOException closedEarly) {
        // the server may refuse a request before reading all of it
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      try (InputStream in = s.getInputStream()) {
        byte[] buf = new byte[8192];
        for (int n; out.size() < (1 << 20) && (n = in.read(buf)) > 0; ) out.write(buf, 0, n);
      } catch (SocketTimeoutException | java.net.SocketException e) {
        // an idle keep-alive connection after the answer, or a reset: what arrived is the answer
      }
      return out.toString(StandardCharsets.ISO_8859_1);
    }
  }

  private static int status(String answer) {
    if (!answer.startsWith("HTTP/1.")) return 0;
    int sp = answer.indexOf(' ');
    try {
      return Integer.parseInt(answer.substring(sp + 1, sp + 4));
    } catch (RuntimeException e) {
      return 0;
    }
  }

  private static String firstLines(String answer) {
    return answer.length() > 600 ? answer.substring(0, 600) : answer;
  }

  /** A model that answers at once with fixed bytes. */
  static final class StubModel implements ServedModel {
    @Override
    public String id() {
      return "stub";
    }

    @Override
    public String family() {
      return "test";
    }

    @Override
    public List<Modality> tasks() {
      return List.of(Modality.DEPTH);
    }

    @Override
    public EstimatorSettings defaults(Modality task) {
      return EstimatorSettings.builder().processingRes(0).ensembleSize(1).denoisingSteps(1).noise(NoiseType.ZEROS)
          .build();
    }

    @Override
    public Output predict(PilImage image, Modality task, EstimatorSettings settings, long seed) {
      byte[] tag = {1, 2, 3};
      return new Output(task, image.width(), image.height(), Map.of("npy", tag, "png16", tag, "colored", tag));
    }

    @Override
    public void close() {}
  }
}
