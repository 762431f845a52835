package marigold4j.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Clients that send their headers byte by byte, or declare a body longer than what they send, held one server thread
 * each while the server waited for them; with more of them than the server has threads, {@code /api/health} went
 * unanswered for as long as they stayed. The front door now receives requests before the service sees them, so health
 * answers while they are still connected, well before the request deadline ({@link FrontDoorTest} checks the 408s and
 * the connection cap).
 */
class SlowClientsTest {
  @Test
  void healthStaysAnswerableWhileSlowClientsHoldEveryThread() throws Exception {
    assertThat(System.getProperty(DemoServer.REQUEST_DEADLINE_PROPERTY)).as("set by the build for this JVM")
        .isEqualTo("5");
    QueueAndCacheTest.GatedModel model = new QueueAndCacheTest.GatedModel();
    DemoServer.Config config = DemoServer.Config.defaults().withPort(0).withQueueCapacity(2);   // 2 + 8 threads
    List<Socket> slow = new ArrayList<>();
    try (DemoServer server = DemoServer.start(List.of(model), config)) {
      URI uri = server.uri();
      for (int i = 0; i < 16; i++) {
        Socket s = new Socket(uri.getHost(), uri.getPort());
        slow.add(s);
        OutputStream out = s.getOutputStream();
        if (i % 2 == 0) {
          out.write("POST /api/predict HTTP/1.1\r\nHo".getBytes(StandardCharsets.US_ASCII));   // headers never end
        } else {
          out.write(("POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
              + "Content-Length: 100000\r\n\r\n--b\r\n").getBytes(StandardCharsets.US_ASCII));  // body never ends
        }
        out.flush();
      }
      long start = System.nanoTime();
      HttpResponse<String> health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri.resolve("/api/health"))
          .timeout(Duration.ofSeconds(40)).build(), HttpResponse.BodyHandlers.ofString());
      Duration waited = Duration.ofNanos(System.nanoTime() - start);
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(waited).as("health answered within the deadline plus a margin").isLessThan(Duration.ofSeconds(20));
    } finally {
      for (Socket s : slow) s.close();
      model.release.countDown();
    }
  }
}
