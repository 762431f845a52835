package marigold4j.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The server's front door: deadlines answered with 408, the connection cap, and request framing, probed with raw
 * sockets the way slow or hostile clients behave. Timings are bounds with wide margins (the deadlines are 1-2 s).
 */
class FrontDoorTest {
  /** 1 s for the headers, 2 s for the whole request. */
  private static DemoServer.Config quick() {
    return DemoServer.Config.defaults().withPort(0).withQueueCapacity(2).withHeaderTimeoutSeconds(1)
        .withRequestTimeoutSeconds(2);
  }

  private static QueueAndCacheTest.GatedModel released() {
    QueueAndCacheTest.GatedModel m = new QueueAndCacheTest.GatedModel();
    m.release.countDown();
    return m;
  }

  /** What a raw client receives: the status line's code, the head, the body. */
  record Answer(int status, String head, String body, long millis) {}

  /** Sends the bytes, then reads the answer until the server closes (at most 20 s). */
  private static Answer exchange(URI uri, byte[] request) throws IOException {
    try (Socket s = new Socket(uri.getHost(), uri.getPort())) {
      long t0 = System.nanoTime();
      s.getOutputStream().write(request);
      s.getOutputStream().flush();
      return readAnswer(s, t0);
    }
  }

  private static Answer readAnswer(Socket s, long t0) throws IOException {
    s.setSoTimeout(20_000);
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    InputStream in = s.getInputStream();
    byte[] buf = new byte[8192];
    try {
      for (int n; (n = in.read(buf)) > 0; ) got.write(buf, 0, n);
    } catch (SocketException e) {
      // reset after the answer: what arrived is what counts
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    String text = got.toString(StandardCharsets.ISO_8859_1);
    if (text.isEmpty()) return new Answer(-1, "", "", ms);
    // skip interim 100 Continue answers
    while (text.startsWith("HTTP/1.1 100")) text = text.substring(text.indexOf("\r\n\r\n") + 4);
    int split = text.indexOf("\r\n\r\n");
    String head = split < 0 ? text : text.substring(0, split);
    String body = split < 0 ? "" : text.substring(split + 4);
    return new Answer(Integer.parseInt(head.substring(9, 12)), head, body, ms);
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  void headersThatTrickleInAreAnswered408AtTheHeaderDeadline() throws Exception {
    try (DemoServer server = DemoServer.start(List.of(released()), quick());
        Socket s = new Socket(server.uri().getHost(), server.uri().getPort())) {
      long t0 = System.nanoTime();
      OutputStream out = s.getOutputStream();
      out.write(ascii("GET /api/health HTTP/1.1\r\nHo"));
      CompletableFuture<Void> trickle = CompletableFuture.runAsync(() -> {
        try {
          for (int i = 0; i < 40; i++) {                   // one byte every 100 ms, headers never end
            Thread.sleep(100);
            out.write('x');
            out.flush();
          }
        } catch (Exception e) {
          // the server closed: expected
        }
      });
      Answer a = readAnswer(s, t0);
      trickle.cancel(true);
      assertThat(a.status()).isEqualTo(408);
      assertThat(a.body()).contains("headers did not arrive within 1 s").contains("\"status\" : 408");
      assertThat(a.head()).containsIgnoringCase("Connection: close");
      assertThat(a.millis()).as("answered at the 1 s header deadline").isBetween(900L, 4000L);
    }
  }

  @Test
  void aBodyShorterThanDeclaredIsAnswered408AtTheRequestDeadline() throws Exception {
    try (DemoServer server = DemoServer.start(List.of(released()), quick())) {
      Answer a = exchange(server.uri(), ascii("POST /api/predict HTTP/1.1\r\nHost: x\r\n"
          + "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n"));
      assertThat(a.status()).isEqualTo(408);
      assertThat(a.body()).contains("body did not arrive within 2 s (5 of 100000 bytes received)");
      assertThat(a.millis()).as("answered at the 2 s request deadline").isBetween(1900L, 6000L);
    }
  }

  @Test
  void aConnectionThatSendsNothingIsClosedWithoutAnAnswer() throws Exception {
    try (DemoServer server = DemoServer.start(List.of(released()), quick())) {
      Answer a = exchange(server.uri(), new byte[0]);
      assertThat(a.status()).isEqualTo(-1);
      assertThat(a.millis()).isBetween(900L, 4000L);
    }
  }

  /**
   * 24 clients sending their headers byte by byte fill a server capped at 8 connections, with deadlines far away
   * (10 s / 30 s): health is still answered at once, because the slowest incoming requests are dropped (503) to make
   * room.
   */
  @Test
  void healthIsAnsweredAtOnceWhileSlowClientsFillEveryConnection() throws Exception {
    DemoServer.Config config = DemoServer.Config.defaults().withPort(0).withQueueCapacity(2).withMaxConnections(8);
    List<Socket> slow = new ArrayList<>();
    try (DemoServer server = DemoServer.start(List.of(released()), config)) {
      URI uri = server.uri();
      for (int i = 0; i < 24; i++) {
        Socket s = new Socket(uri.getHost(), uri.getPort());
        s.getOutputStream().write(ascii("GET /api/health HTTP/1.1\r\nHo"));
        s.getOutputStream().flush();
        slow.add(s);
      }
      Thread.sleep(300);                                  // let the server take them all in
      long t0 = System.nanoTime();
      HttpResponse<String> health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri.resolve("/api/health"))
          .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertThat(health.statusCode()).isEqualTo(200);
      assertThat(ms).as("health answered long before any deadline (10 s)").isLessThan(3000L);
      int dropped = 0;
      for (Socket s : slow) {
        s.setSoTimeout(200);
        try {
          byte[] b = s.getInputStream().readNBytes(12);
          if (new String(b, StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 503")) dropped++;
        } catch (IOException e) {
          // still held: no answer yet
        }
      }
      assertThat(dropped).as("slow clients dropped to stay within 8 connections").isGreaterThanOrEqualTo(16);
    } finally {
      for (Socket s : slow) s.close();
    }
  }

  /** When every connection waits for the model, a newcomer is told to come back (503 + Retry-After). */
  @Test
  void aFullServerWhoseConnectionsAllWaitForTheModelAnswers503() throws Exception {
    QueueAndCacheTest.GatedModel model = new QueueAndCacheTest.GatedModel();
    DemoServer.Config config = DemoServer.Config.defaults().withPort(0).withQueueCapacity(4).withMaxConnections(2);
    try (DemoServer server = DemoServer.start(List.of(model), config)) {
      Api api = new Api(server.uri());
      Api.Form form = new Api.Form().image(QueueAndCacheTest.CATS);
      CompletableFuture<HttpResponse<byte[]>> first = CompletableFuture.supplyAsync(() -> api.post("/api/predict",
          form));
      assertThat(model.started.await(30, TimeUnit.SECONDS)).isTrue();
      CompletableFuture<HttpResponse<byte[]>> second = CompletableFuture.supplyAsync(() -> api.post("/api/predict",
          form));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      Answer third;
      do {                                                 // until the second request is waiting in the queue
        Thread.sleep(100);
        third = exchange(server.uri(), ascii("GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"));
      } while (third.status() == 200 && System.nanoTime() < deadline);
      assertThat(third.status()).isEqualTo(503);
      assertThat(third.head()).contains("Retry-After: 2");
      assertThat(third.body()).contains("connections open, all busy");
      model.release.countDown();
      assertThat(first.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      assertThat(second.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    } finally {
      model.release.countDown();
    }
  }

  @Test
  void chunkedBodiesAndExpectContinueReachTheService() throws Exception {
    try (DemoServer server = DemoServer.start(List.of(released()), quick().withRequestTimeoutSeconds(20))) {
      Api.Form form = new Api.Form().image(QueueAndCacheTest.CATS);
      byte[] body = form.bytes();
      ByteArrayOutputStream req = new ByteArrayOutputStream();
      req.writeBytes(ascii("POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: " + form.contentType()
          + "\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"));
      for (int off = 0; off < body.length; off += 1000) {
        int n = Math.min(1000, body.length - off);
        req.writeBytes(ascii(Integer.toHexString(n) + ";ext=1\r\n"));
        req.write(body, off, n);
        req.writeBytes(ascii("\r\n"));
      }
      req.writeBytes(ascii("0\r\nX-Trailer: t\r\n\r\n"));
      try (Socket s = new Socket(server.uri().getHost(), server.uri().getPort())) {
        long t0 = System.nanoTime();
        OutputStream out = s.getOutputStream();
        byte[] all = req.toByteArray();
        int headEnd = new String(all, StandardCharsets.ISO_8859_1).indexOf("\r\n\r\n") + 4;
        out.write(all, 0, headEnd);
        out.flush();
        s.setSoTimeout(5000);
        byte[] interim = s.getInputStream().readNBytes(25);
        assertThat(new String(interim, StandardCharsets.ISO_8859_1)).isEqualTo("HTTP/1.1 100 Continue\r\n\r\n");
        out.write(all, headEnd, all.length - headEnd);
        out.flush();
        Answer a = readAnswer(s, t0);
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        assertThat(a.body()).contains("\"width\" : 128");
      }
    }
  }

  @Test
  void badFramingIsRefusedBeforeTheService() throws Exception {
    try (DemoServer server = DemoServer.start(List.of(released()), quick().withMaxUploadBytes(1000))) {
      URI u = server.uri();
      Map<String, Integer> cases = Map.of(
          "POST /api/predict HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
          "POST /api/predict HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400,
          "POST /api/predict HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400,
          "POST /api/predict HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400,
          "GET / HTTP/2.0\r\n\r\n", 505,
          "GET /api/health HTTP/1.1\r\nA: b\r\n  folded\r\n\r\n", 400,
          "GET /api/health\r\n\r\n", 400,
          "POST /api/predict HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
          "POST /api/predict HTTP/1.1\r\nContent-Length: 900000\r\n\r\n", 413,
          "GET /api/health HTTP/1.1\r\nX: " + "a".repeat(70_000) + "\r\n\r\n", 431);
      for (Map.Entry<String, Integer> c : cases.entrySet()) {
        Answer a = exchange(u, ascii(c.getKey()));
        String shown = c.getKey().length() > 80 ? c.getKey().substring(0, 80) : c.getKey();
        assertThat(a.status()).as(shown).isEqualTo(c.getValue());
        assertThat(a.body()).as(shown).contains("\"status\" : " + c.getValue());
      }
      assertThat(exchange(u, ascii("POST /api/predict HTTP/1.1\r\nContent-Length: 900000\r\n\r\n")).body())
          .contains("upload too large (limit 1000 bytes)");
    }
  }

  /** Clients that keep connections alive learn from {@code Connection: close} and open a new one per request. */
  @Test
  void keepAliveClientsMakeManyRequests() throws Exception {
    try (DemoServer server = DemoServer.start(List.of(released()), quick())) {
      Api api = new Api(server.uri());
      byte[] image = Files.readAllBytes(QueueAndCacheTest.CATS);
      for (int i = 0; i < 5; i++) {
        assertThat(api.get("/api/health").statusCode()).isEqualTo(200);
        HttpResponse<byte[]> r = api.post("/api/predict", new Api.Form().file("image", "c.png", "image/png", image));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Connection")).hasValue("close");
      }
      assertThat(Api.json(api.get("/api/models")).at("/limits/max_connections").asInt()).isEqualTo(64);
    }
  }
}
