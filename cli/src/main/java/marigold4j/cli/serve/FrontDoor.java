package marigold4j.cli.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's public socket. It receives each request whole before the HTTP service sees it, so that slow or stalled
 * clients cost a front-door thread, never one of the service's threads:
 *
 * <ul>
 *   <li>the request head must arrive within the header deadline and the whole request within the request deadline;
 *       a client that misses either is answered {@code 408} (a connection that sent nothing is simply closed);
 *   <li>at most {@code maxConnections} connections are open; when full, the connection that has been receiving its
 *       request the longest is dropped with {@code 503} to make room (so a slow-client flood cannot lock out
 *       {@code /api/health}); when every connection is already waiting for the model, the newcomer gets {@code 503}
 *       with {@code Retry-After};
 *   <li>malformed framing (conflicting or bad {@code Content-Length}, {@code Transfer-Encoding} with a length, folded
 *       headers, a bad request line) is {@code 400}, an oversized head {@code 431}, a body over the upload limit
 *       {@code 413}; chunked bodies and {@code Expect: 100-continue} are understood;
 *   <li>a client that stops reading its response is disconnected after the request deadline without progress.
 * </ul>
 *
 * The request is then passed on, re-framed with a {@code Content-Length}, to the JDK server listening on loopback,
 * and its response is copied back; every connection carries one request ({@code Connection: close}).
 */
final class FrontDoor implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FrontDoor.class);
  private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  /** Headers about this hop only; the service receives the request re-framed. */
  private static final Set<String> HOP_HEADERS = Set.of("connection", "keep-alive", "proxy-connection", "te",
      "transfer-encoding", "content-length", "expect", "upgrade", "trailer", "x-forwarded-for");

  /**
   * @param maxConnections open connections at most (each holds a front-door thread)
   * @param headerTimeout time from connecting until the request head has arrived
   * @param requestTimeout time from connecting until the whole request has arrived; also the longest a client may
   *     leave its response unread
   * @param maxHeaderBytes largest request head
   * @param maxBodyBytes largest request body
   * @param tooLarge the 413 answered above {@code maxBodyBytes}
   */
  record Limits(int maxConnections, Duration headerTimeout, Duration requestTimeout, int maxHeaderBytes,
      long maxBodyBytes, HttpError tooLarge) {}

  private enum Phase { RECEIVING, FORWARDING, RESPONDING, DONE }

  /** One client connection and where it stands. */
  private static final class Connection {
    final Socket socket;
    final long opened = System.nanoTime();
    final AtomicReference<Phase> phase = new AtomicReference<>(Phase.RECEIVING);
    /** When the response last moved (read by the watchdog in the responding phase). */
    volatile long lastProgress = System.nanoTime();
    volatile Socket backend;

    Connection(Socket socket) {
      this.socket = socket;
    }

    /** Moves from one phase to the next unless another thread (eviction, watchdog) ended the connection first. */
    boolean advance(Phase from, Phase to) {
      return phase.compareAndSet(from, to);
    }

    void closeQuietly() {
      phase.set(Phase.DONE);
      closeQuietly(socket);
      Socket b = backend;
      if (b != null) closeQuietly(b);
    }

    static void closeQuietly(Socket s) {
      try {
        s.close();
      } catch (IOException ignored) {
        // already gone
      }
    }
  }

  /** A request refused before it reached the service. */
  private static final class Refusal extends Exception {
    final int status;
    final Map<String, String> headers;

    Refusal(int status, String message) {
      this(status, message, Map.of());
    }

    Refusal(int status, String message, Map<String, String> headers) {
      super(message, null, false, false);
      this.status = status;
      this.headers = headers;
    }
  }

  /** A request received whole: its head as sent (minus hop headers) and its body. */
  private record Request(String method, String target, String version, List<String[]> headers, byte[] body) {}

  private final ServerSocket listener;
  private final InetSocketAddress backend;
  private final Limits limits;
  private final Set<Connection> open = ConcurrentHashMap.newKeySet();
  private final ExecutorService threads;
  private final ScheduledExecutorService watchdog;
  private final Thread acceptor;

  private FrontDoor(ServerSocket listener, InetSocketAddress backend, Limits limits) {
    this.listener = listener;
    this.backend = backend;
    this.limits = limits;
    AtomicInteger n = new AtomicInteger();
    this.threads = Executors.newCachedThreadPool(r -> daemon(r, "marigold4j-conn-" + n.incrementAndGet()));
    this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "marigold4j-conn-watchdog"));
    this.acceptor = daemon(this::acceptLoop, "marigold4j-accept");
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /**
   * Listens on {@code address} and passes requests to the service at {@code backend}.
   *
   * @throws IOException when the address cannot be bound
   */
  static FrontDoor open(InetSocketAddress address, InetSocketAddress backend, Limits limits) throws IOException {
    ServerSocket listener = new ServerSocket();
    try {
      listener.setReuseAddress(true);
      listener.bind(address, 128);
    } catch (IOException e) {
      listener.close();
      throw e;
    }
    FrontDoor door = new FrontDoor(listener, backend, limits);
    door.acceptor.start();
    door.watchdog.scheduleWithFixedDelay(door::closeStalledResponses, 1, 1, TimeUnit.SECONDS);
    return door;
  }

  int port() {
    return listener.getLocalPort();
  }

  @Override
  public void close() {
    try {
      listener.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    watchdog.shutdownNow();
    for (Connection c : open) c.closeQuietly();
    threads.shutdownNow();
  }

  // ---- accepting ---------------------------------------------------------------------------------------------

  private void acceptLoop() {
    while (!listener.isClosed()) {
      Socket s;
      try {
        s = listener.accept();
      } catch (IOException e) {
        if (!listener.isClosed()) LOG.warn("accept failed: {}", e.getMessage());
        continue;
      }
      Connection c = new Connection(s);
      if (!admit(c)) {
        LOG.info("connection from {} refused: {} connections open, all waiting for the model",
            s.getInetAddress().getHostAddress(), open.size());
        answerAndClose(c, new Refusal(503, "the server has " + limits.maxConnections()
            + " connections open, all busy; try again shortly", Map.of("Retry-After", "2")), null);
        continue;
      }
      try {
        threads.execute(() -> serve(c));
      } catch (RuntimeException e) {                       // shutting down
        open.remove(c);
        c.closeQuietly();
      }
    }
  }

  /**
   * Takes the connection in, dropping the connection that has been receiving its request the longest when the cap
   * is reached; false when every open connection is past receiving (waiting for the model or being answered).
   */
  private synchronized boolean admit(Connection c) {
    while (open.size() >= limits.maxConnections()) {
      Connection slowest = open.stream().filter(o -> o.phase.get() == Phase.RECEIVING)
          .min(Comparator.comparingLong(o -> o.opened)).orElse(null);
      if (slowest == null) return false;
      if (slowest.advance(Phase.RECEIVING, Phase.DONE)) {
        open.remove(slowest);
        LOG.info("dropped the slowest incoming request from {} ({} ms receiving) to make room",
            slowest.socket.getInetAddress().getHostAddress(), (System.nanoTime() - slowest.opened) / 1_000_000);
        writeError(slowest.socket, new Refusal(503, "dropped: the server is full and this request was the slowest "
            + "to arrive", Map.of("Retry-After", "2")), null);
        Connection.closeQuietly(slowest.socket);
      }
    }
    open.add(c);
    return true;
  }

  // ---- one connection ----------------------------------------------------------------------------------------

  private void serve(Connection c) {
    Socket s = c.socket;
    String line = "-";
    try {
      s.setTcpNoDelay(true);
      InputStream in = new BufferedInputStream(s.getInputStream(), 16 * 1024);
      Request r;
      try {
        r = receive(c, in);
        if (r == null) return;                             // connected, sent nothing, left or timed out
        line = r.method() + " " + r.target();
      } catch (Refusal e) {
        if (c.advance(Phase.RECEIVING, Phase.DONE)) {
          LOG.info("{} {} from {}: {}", e.status, e.getMessage(), s.getInetAddress().getHostAddress(), line);
          answerAndClose(c, e, in);
        }
        return;
      }
      if (!c.advance(Phase.RECEIVING, Phase.FORWARDING)) return;      // dropped while it arrived
      forward(c, r);
    } catch (IOException e) {
      if (c.phase.get() != Phase.DONE) LOG.debug("connection {} ended: {}", line, e.getMessage());
    } finally {
      open.remove(c);
      c.closeQuietly();
    }
  }

  /** Reads one request whole, within the deadlines and limits; null when the client sent nothing at all. */
  private Request receive(Connection c, InputStream in) throws IOException, Refusal {
    long headDeadline = c.opened + limits.headerTimeout().toNanos();
    long requestDeadline = c.opened + limits.requestTimeout().toNanos();
    byte[] head = readHead(c, in, headDeadline);
    if (head == null) return null;
    List<String> lines = List.of(new String(head, StandardCharsets.ISO_8859_1).split("\r?\n", -1));
    String[] start = lines.get(0).split(" ", -1);
    if (start.length != 3 || start[0].isEmpty() || start[1].isEmpty()) {
      throw new Refusal(400, "malformed request line");
    }
    if (!start[2].startsWith("HTTP/1.")) throw new Refusal(505, "only HTTP/1.0 and HTTP/1.1 are served");
    List<String[]> headers = new ArrayList<>();
    Map<String, List<String>> byName = new LinkedHashMap<>();
    for (String l : lines.subList(1, lines.size())) {
      if (l.isEmpty()) continue;
      if (l.charAt(0) == ' ' || l.charAt(0) == '\t') throw new Refusal(400, "folded header lines are not allowed");
      int colon = l.indexOf(':');
      if (colon <= 0 || !isToken(l.substring(0, colon))) throw new Refusal(400, "malformed header line");
      String name = l.substring(0, colon);
      String value = l.substring(colon + 1).trim();
      byName.computeIfAbsent(name.toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(value);
      headers.add(new String[] {name, value});
    }
    List<String> connectionTokens = new ArrayList<>();
    for (String v : byName.getOrDefault("connection", List.of())) {
      for (String t : v.split(",")) connectionTokens.add(t.trim().toLowerCase(Locale.ROOT));
    }
    headers.removeIf(h -> {
      String n = h[0].toLowerCase(Locale.ROOT);
      return HOP_HEADERS.contains(n) || connectionTokens.contains(n);
    });

    List<String> te = byName.getOrDefault("transfer-encoding", List.of());
    List<String> cl = byName.getOrDefault("content-length", List.of());
    if (!te.isEmpty() && !cl.isEmpty()) throw new Refusal(400, "both Transfer-Encoding and Content-Length given");
    boolean chunked = false;
    if (!te.isEmpty()) {
      String codings = String.join(",", te).replace(" ", "").toLowerCase(Locale.ROOT);
      if (!codings.equals("chunked")) {
        throw new Refusal(501, "transfer coding '" + String.join(", ", te) + "' is not supported (use chunked)");
      }
      chunked = true;
    }
    long length = 0;
    if (!cl.isEmpty()) {
      String first = cl.get(0);
      for (String v : cl) {
        if (!v.equals(first) || v.isEmpty() || v.length() > 18 || !v.chars().allMatch(Character::isDigit)) {
          throw new Refusal(400, "bad Content-Length");
        }
      }
      length = Long.parseLong(first);
      if (length > limits.maxBodyBytes()) throw tooLarge();
    }
    String expect = byName.getOrDefault("expect", List.of()).stream().findFirst().orElse(null);
    if (expect != null) {
      if (!expect.equalsIgnoreCase("100-continue")) throw new Refusal(417, "unsupported expectation: " + expect);
      if (start[2].equals("HTTP/1.1")) {
        c.socket.getOutputStream().write(CONTINUE);
        c.socket.getOutputStream().flush();
      }
    }
    byte[] body = chunked ? readChunked(c, in, requestDeadline) : readFixed(c, in, length, requestDeadline);
    return new Request(start[0], start[1], start[2], headers, body);
  }

  private Refusal tooLarge() {
    return new Refusal(limits.tooLarge().status(), limits.tooLarge().getMessage(), limits.tooLarge().headers());
  }

  private static boolean isToken(String s) {
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch <= ' ' || ch >= 127 || "()<>@,;:\\\"/[]?={}".indexOf(ch) >= 0) return false;
    }
    return !s.isEmpty();
  }

  /** The request head without its blank line; null when nothing arrived. */
  private byte[] readHead(Connection c, InputStream in, long deadline) throws IOException, Refusal {
    ByteArrayOutputStream head = new ByteArrayOutputStream(512);
    int tail = 0;                                          // the last four bytes, for the end of the head
    while (true) {
      int b = read(c, in, deadline, () -> head.size() == 0 ? null : new Refusal(408, "the request's headers did "
          + "not arrive within " + limits.headerTimeout().toSeconds() + " s"));
      if (b < 0) {
        if (head.size() == 0) return null;
        throw new Refusal(400, "the connection ended inside the request's headers");
      }
      if (head.size() == 0 && (b == '\r' || b == '\n')) continue;     // blank lines before a request are allowed
      head.write(b);
      tail = (tail << 8) | b;
      if (tail == 0x0d0a0d0a || (tail & 0xffff) == 0x0a0a) {
        byte[] a = head.toByteArray();
        return java.util.Arrays.copyOf(a, a.length - ((tail & 0xffff) == 0x0a0a ? 2 : 4));
      }
      if (head.size() > limits.maxHeaderBytes()) {
        throw new Refusal(431, "the request's headers exceed " + limits.maxHeaderBytes() + " bytes");
      }
    }
  }

  private interface Timeout {
    Refusal refusal();
  }

  /** One byte, waiting at most until the deadline; -1 at the end of the stream. */
  private static int read(Connection c, InputStream in, long deadline, Timeout onTimeout) throws IOException, Refusal {
    while (true) {
      awaitable(c, in, deadline, onTimeout);
      try {
        return in.read();
      } catch (SocketTimeoutException e) {
        // loop: the deadline decides
      }
    }
  }

  /** At least one and at most {@code len} bytes, waiting at most until the deadline; -1 at the end of the stream. */
  private static int read(Connection c, InputStream in, byte[] buf, int off, int len, long deadline,
      Timeout onTimeout) throws IOException, Refusal {
    while (true) {
      awaitable(c, in, deadline, onTimeout);
      try {
        int n = in.read(buf, off, len);
        if (n != 0) return n;
      } catch (SocketTimeoutException e) {
        // loop: the deadline decides
      }
    }
  }

  /**
   * Refuses when the deadline has passed (or, for a connection that sent nothing, ends it); otherwise bounds the next
   * read that may block by the time left.
   */
  private static void awaitable(Connection c, InputStream in, long deadline, Timeout onTimeout)
      throws IOException, Refusal {
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      Refusal r = onTimeout.refusal();
      if (r == null) throw new SocketTimeoutException("idle connection");
      throw r;
    }
    if (in.available() == 0) {
      c.socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(left))));
    }
  }

  private byte[] readFixed(Connection c, InputStream in, long length, long deadline) throws IOException, Refusal {
    byte[] body = new byte[(int) length];                  // length <= maxBodyBytes, checked before
    int got = 0;
    while (got < length) {
      long have = got;
      int n = read(c, in, body, got, body.length - got, deadline, () -> bodyTimeout(have, length));
      if (n < 0) throw new Refusal(400, "the connection ended after " + got + " of " + length + " body bytes");
      got += n;
    }
    return body;
  }

  private Refusal bodyTimeout(long have, long length) {
    return new Refusal(408, "the request's body did not arrive within " + limits.requestTimeout().toSeconds()
        + " s (" + have + " of " + (length < 0 ? "?" : Long.toString(length)) + " bytes received)");
  }

  /** A chunked body, decoded; trailers are read and dropped. */
  private byte[] readChunked(Connection c, InputStream in, long deadline) throws IOException, Refusal {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    byte[] buf = new byte[64 * 1024];
    while (true) {
      String sizeLine = readLine(c, in, deadline, body.size());
      int semi = sizeLine.indexOf(';');
      String hex = (semi >= 0 ? sizeLine.substring(0, semi) : sizeLine).trim();
      long size;
      try {
        if (hex.isEmpty() || hex.length() > 15) throw new NumberFormatException();
        size = Long.parseLong(hex, 16);
      } catch (NumberFormatException e) {
        throw new Refusal(400, "bad chunk size in the request body");
      }
      if (size == 0) break;
      if (body.size() + size > limits.maxBodyBytes()) throw tooLarge();
      long left = size;
      while (left > 0) {
        long have = body.size();
        int n = read(c, in, buf, 0, (int) Math.min(buf.length, left), deadline, () -> bodyTimeout(have, -1));
        if (n < 0) throw new Refusal(400, "the connection ended inside a chunk of the request body");
        body.write(buf, 0, n);
        left -= n;
      }
      if (!readLine(c, in, deadline, body.size()).isEmpty()) throw new Refusal(400, "a chunk is longer than declared");
    }
    for (int i = 0; i < 64; i++) {                         // trailer section, ended by a blank line
      if (readLine(c, in, deadline, body.size()).isEmpty()) return body.toByteArray();
    }
    throw new Refusal(400, "too many trailer lines in the request body");
  }

  private String readLine(Connection c, InputStream in, long deadline, long have) throws IOException, Refusal {
    StringBuilder line = new StringBuilder();
    while (true) {
      int b = read(c, in, deadline, () -> bodyTimeout(have, -1));
      if (b < 0) throw new Refusal(400, "the connection ended inside the request body");
      if (b == '\n') break;
      if (line.length() > 4096) throw new Refusal(400, "a chunk header line is too long");
      line.append((char) b);
    }
    int n = line.length();
    if (n > 0 && line.charAt(n - 1) == '\r') line.setLength(n - 1);
    return line.toString();
  }

  // ---- passing on ---------------------------------------------------------------------------------------------

  private void forward(Connection c, Request r) throws IOException {
    try (Socket b = new Socket()) {
      c.backend = b;
      b.connect(backend, 10_000);
      b.setTcpNoDelay(true);
      StringBuilder head = new StringBuilder(256);
      head.append(r.method()).append(' ').append(r.target()).append(' ').append(r.version()).append("\r\n");
      for (String[] h : r.headers()) head.append(h[0]).append(": ").append(h[1]).append("\r\n");
      head.append("Content-Length: ").append(r.body().length).append("\r\n");
      head.append("Connection: close\r\n");
      head.append("X-Forwarded-For: ").append(c.socket.getInetAddress().getHostAddress()).append("\r\n\r\n");
      OutputStream bo = new BufferedOutputStream(b.getOutputStream(), 64 * 1024);
      bo.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      bo.write(r.body());
      bo.flush();
      // the response, as the service writes it, until it closes the connection
      InputStream bi = b.getInputStream();
      OutputStream out = c.socket.getOutputStream();
      byte[] buf = new byte[64 * 1024];
      boolean first = true;
      for (int n; (n = bi.read(buf)) > 0; ) {
        if (first) {
          if (!c.advance(Phase.FORWARDING, Phase.RESPONDING)) return;
          first = false;
        }
        c.lastProgress = System.nanoTime();
        out.write(buf, 0, n);
        c.lastProgress = System.nanoTime();
      }
      out.flush();
      c.socket.shutdownOutput();
    } finally {
      c.backend = null;
    }
  }

  /** Disconnects clients that have left their response unread for the request deadline. */
  private void closeStalledResponses() {
    long now = System.nanoTime();
    for (Connection c : open) {
      if (c.phase.get() == Phase.RESPONDING && now - c.lastProgress > limits.requestTimeout().toNanos()) {
        LOG.info("disconnected {}: its response went unread for {} s", c.socket.getInetAddress().getHostAddress(),
            limits.requestTimeout().toSeconds());
        c.closeQuietly();
      }
    }
  }

  // ---- answers of the front door's own --------------------------------------------------------------------------

  /** Answers the refusal, reads on for a little so that a client still sending sees it, and closes. */
  private void answerAndClose(Connection c, Refusal e, InputStream in) {
    writeError(c.socket, e, in);
    Connection.closeQuietly(c.socket);
  }

  private static void writeError(Socket s, Refusal e, InputStream in) {
    try {
      ObjectNode o = HttpIo.JSON.createObjectNode();
      o.put("error", e.getMessage());
      o.put("status", e.status);
      byte[] body = HttpIo.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(o);
      StringBuilder head = new StringBuilder();
      head.append("HTTP/1.1 ").append(e.status).append(' ').append(reason(e.status)).append("\r\n");
      head.append("Content-Type: application/json\r\n");
      head.append("X-Content-Type-Options: nosniff\r\n");
      e.headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
      head.append("Content-Length: ").append(body.length).append("\r\n");
      head.append("Connection: close\r\n\r\n");
      OutputStream out = s.getOutputStream();
      out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
      out.write(body);
      out.flush();
      s.shutdownOutput();
      if (in != null) {                                    // let a client still sending read the answer
        s.setSoTimeout(1000);                              // at most 16 MiB and 2 s: a trickling client ends sooner
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        byte[] sink = new byte[16 * 1024];
        long budget = 16L << 20;
        for (int n; budget > 0 && System.nanoTime() < until && (n = in.read(sink)) > 0; ) budget -= n;
      }
    } catch (IOException ignored) {
      // the client left
    }
  }

  private static String reason(int status) {
    return switch (status) {
      case 400 -> "Bad Request";
      case 408 -> "Request Timeout";
      case 413 -> "Content Too Large";
      case 417 -> "Expectation Failed";
      case 431 -> "Request Header Fields Too Large";
      case 501 -> "Not Implemented";
      case 503 -> "Service Unavailable";
      case 505 -> "HTTP Version Not Supported";
      default -> "Error";
    };
  }

  static InetSocketAddress loopback() {
    return new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
  }
}
