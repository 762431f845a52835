package marigold4j.cli.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reading requests and writing responses on the JDK server: bounded bodies, query strings, JSON, errors. */
final class HttpIo {
  private static final Logger LOG = LoggerFactory.getLogger(HttpIo.class);
  static final ObjectMapper JSON = new ObjectMapper();

  private HttpIo() {}

  /**
   * The request body, at most {@code limit} bytes; a larger one is drained (up to a bound) and refused with 413.
   *
   * @param tooLarge the 413 to throw, saying which limit applies
   */
  static byte[] readBody(HttpExchange ex, long limit, HttpError tooLarge) {
    String declared = ex.getRequestHeaders().getFirst("Content-Length");
    if (declared != null) {
      try {
        if (Long.parseLong(declared.trim()) > limit) {
          drain(ex.getRequestBody(), limit);
          throw tooLarge;
        }
      } catch (NumberFormatException e) {
        throw new HttpError(400, "bad Content-Length");
      }
    }
    try (InputStream in = ex.getRequestBody()) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[64 * 1024];
      long total = 0;
      for (int n; (n = in.read(buf)) > 0; ) {
        total += n;
        if (total > limit) {
          drain(in, limit);
          throw tooLarge;
        }
        out.write(buf, 0, n);
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new HttpError(400, "cannot read the request body: " + e.getMessage());
    }
  }

  /**
   * Reads and drops the rest of an oversized body (up to about the limit again), so that the client, still sending,
   * receives the 413 rather than a reset connection; beyond that the connection is simply closed.
   */
  private static void drain(InputStream in, long limit) {
    byte[] buf = new byte[64 * 1024];
    long budget = Math.max(limit, 16L << 20);
    try {
      for (int n; budget > 0 && (n = in.read(buf)) > 0; ) budget -= n;
    } catch (IOException e) {
      // the client gave up; nothing to do
    }
  }

  /** The decoded value of {@code key} in the query string, "" for a bare key, null when absent. */
  static String query(HttpExchange ex, String key) {
    String q = ex.getRequestURI().getRawQuery();
    if (q == null) return null;
    for (String kv : q.split("&")) {
      int eq = kv.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? kv : kv.substring(0, eq), StandardCharsets.UTF_8);
      if (k.equals(key)) return eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
    }
    return null;
  }

  static byte[] resource(String name) throws IOException {
    try (InputStream in = HttpIo.class.getResourceAsStream(name)) {
      if (in == null) throw new IOException("missing resource " + name);
      return in.readAllBytes();
    }
  }

  static int sendJson(HttpExchange ex, int status, ObjectNode body) {
    try {
      return send(ex, status, "application/json", JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(body),
          Map.of("Cache-Control", "no-store"));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The error as JSON {@code {"error": message, "status": code}} with its headers. */
  static int sendError(HttpExchange ex, HttpError e) {
    ObjectNode o = JSON.createObjectNode();
    o.put("error", e.getMessage());
    o.put("status", e.status());
    Headers h = ex.getResponseHeaders();
    e.headers().forEach(h::add);
    try {
      return sendJson(ex, e.status(), o);
    } catch (RuntimeException sendFailed) {
      return e.status();                                   // headers already sent, or the client left
    }
  }

  static int send(HttpExchange ex, int status, String contentType, byte[] body, Map<String, String> headers) {
    Headers h = ex.getResponseHeaders();
    h.set("Content-Type", contentType);
    h.set("X-Content-Type-Options", "nosniff");
    headers.forEach(h::set);
    try {
      boolean head = ex.getRequestMethod().equals("HEAD");
      ex.sendResponseHeaders(status, head ? -1 : body.length == 0 ? -1 : body.length);
      if (!head && body.length > 0) {
        try (OutputStream out = ex.getResponseBody()) {
          out.write(body);
        }
      }
    } catch (IOException e) {
      LOG.debug("client went away: {}", e.getMessage());
    }
    return status;
  }
}
