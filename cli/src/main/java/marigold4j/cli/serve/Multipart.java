package marigold4j.cli.serve;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A small, strict {@code multipart/form-data} (RFC 7578) parser over a body already held in memory (its size was
 * capped while reading). Malformed bodies raise {@link HttpError} 400; the first part of a name wins.
 */
final class Multipart {
  private static final int MAX_PARTS = 32;
  private static final int MAX_HEADER_BYTES = 8 * 1024;
  private static final byte[] CRLF = {'\r', '\n'};
  private static final byte[] HEADER_END = {'\r', '\n', '\r', '\n'};

  /** One form field: a text value or an uploaded file ({@code filename} non-null). */
  record Part(String name, String filename, String contentType, byte[] data) {
    String text() {
      return new String(data, StandardCharsets.UTF_8);
    }
  }

  private Multipart() {}

  /**
   * The boundary of a {@code multipart/form-data} content type.
   *
   * @throws HttpError 415 for any other content type, 400 when the boundary is missing or invalid
   */
  static String boundary(String contentType) {
    if (contentType == null) throw new HttpError(415, "expected a multipart/form-data body (no Content-Type given)");
    // limit -1: a value of only separators (";") still has a first element, the empty type
    String[] params = contentType.split(";", -1);
    if (!params[0].trim().equalsIgnoreCase("multipart/form-data")) {
      throw new HttpError(415, "expected a multipart/form-data body, got " + params[0].trim());
    }
    for (int i = 1; i < params.length; i++) {
      String p = params[i].trim();
      int eq = p.indexOf('=');
      if (eq > 0 && p.substring(0, eq).trim().equalsIgnoreCase("boundary")) {
        String b = unquote(p.substring(eq + 1).trim());
        // RFC 2046: 1 to 70 characters
        if (b.isEmpty() || b.length() > 70) throw new HttpError(400, "invalid multipart boundary");
        return b;
      }
    }
    throw new HttpError(400, "multipart/form-data without a boundary parameter");
  }

  /** The parts of a body, by field name. */
  static Map<String, Part> parse(byte[] body, String boundary) {
    byte[] delimiter = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
    byte[] innerDelimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
    Map<String, Part> parts = new LinkedHashMap<>();
    // the first delimiter may follow a preamble; it starts the body or a line
    int pos = body.length >= delimiter.length && startsWith(body, 0, delimiter) ? 0 : indexOf(body, innerDelimiter, 0);
    if (pos < 0) throw new HttpError(400, "malformed multipart body: no boundary found");
    pos += pos == 0 && startsWith(body, 0, delimiter) ? delimiter.length : innerDelimiter.length;
    int count = 0;
    while (true) {
      if (startsWith(body, pos, new byte[] {'-', '-'})) return parts;          // close delimiter
      pos = skipTransportPadding(body, pos);
      if (!startsWith(body, pos, CRLF)) throw new HttpError(400, "malformed multipart body: bad delimiter line");
      pos += 2;
      int headerEnd = indexOf(body, HEADER_END, pos);
      if (headerEnd < 0 || headerEnd - pos > MAX_HEADER_BYTES) {
        throw new HttpError(400, "malformed multipart body: part headers missing or too long");
      }
      Map<String, String> headers = headers(new String(body, pos, headerEnd - pos, StandardCharsets.UTF_8));
      int start = headerEnd + HEADER_END.length;
      int end = indexOf(body, innerDelimiter, start);
      if (end < 0) throw new HttpError(400, "malformed multipart body: a part is not terminated (truncated upload?)");
      if (++count > MAX_PARTS) throw new HttpError(400, "too many multipart fields (limit " + MAX_PARTS + ")");
      Part part = part(headers, java.util.Arrays.copyOfRange(body, start, end));
      parts.putIfAbsent(part.name(), part);
      pos = end + innerDelimiter.length;
    }
  }

  private static Part part(Map<String, String> headers, byte[] data) {
    String disposition = headers.get("content-disposition");
    if (disposition == null) throw new HttpError(400, "malformed multipart body: a part has no Content-Disposition");
    String name = null;
    String filename = null;
    String[] items = splitParams(disposition);
    if (!items[0].trim().equalsIgnoreCase("form-data")) {
      throw new HttpError(400, "malformed multipart body: Content-Disposition is not form-data");
    }
    for (int i = 1; i < items.length; i++) {
      String p = items[i].trim();
      int eq = p.indexOf('=');
      if (eq <= 0) continue;
      String key = p.substring(0, eq).trim().toLowerCase(Locale.ROOT);
      String value = unquote(p.substring(eq + 1).trim());
      if (key.equals("name")) name = value;
      else if (key.equals("filename")) filename = value;
    }
    if (name == null) throw new HttpError(400, "malformed multipart body: a part has no name");
    return new Part(name, filename, headers.get("content-type"), data);
  }

  private static Map<String, String> headers(String block) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String line : block.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon <= 0) throw new HttpError(400, "malformed multipart body: bad part header line");
      out.putIfAbsent(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
    }
    return out;
  }

  /** Splits at semicolons outside quotes (a quoted file name may contain one). */
  private static String[] splitParams(String s) {
    java.util.List<String> out = new java.util.ArrayList<>();
    StringBuilder cur = new StringBuilder();
    boolean quoted = false;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' && (i == 0 || s.charAt(i - 1) != '\\')) quoted = !quoted;
      if (c == ';' && !quoted) {
        out.add(cur.toString());
        cur.setLength(0);
      } else {
        cur.append(c);
      }
    }
    out.add(cur.toString());
    return out.toArray(new String[0]);
  }

  private static String unquote(String v) {
    if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
      return v.substring(1, v.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\");
    }
    return v;
  }

  /** RFC 2046 allows spaces and tabs after a delimiter. */
  private static int skipTransportPadding(byte[] b, int pos) {
    while (pos < b.length && (b[pos] == ' ' || b[pos] == '\t')) pos++;
    return pos;
  }

  private static boolean startsWith(byte[] b, int pos, byte[] prefix) {
    if (pos < 0 || pos + prefix.length > b.length) return false;
    for (int i = 0; i < prefix.length; i++) if (b[pos + i] != prefix[i]) return false;
    return true;
  }

  static int indexOf(byte[] b, byte[] needle, int from) {
    outer:
    for (int i = Math.max(from, 0); i <= b.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) if (b[i + j] != needle[j]) continue outer;
      return i;
    }
    return -1;
  }
}
