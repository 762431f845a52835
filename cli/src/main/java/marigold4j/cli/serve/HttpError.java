package marigold4j.cli.serve;

import java.util.Map;

/** A request that ends in an error response: the status, a message for the client, and extra headers. */
final class HttpError extends RuntimeException {
  private final int status;
  private final Map<String, String> headers;

  HttpError(int status, String message) {
    this(status, message, Map.of());
  }

  HttpError(int status, String message, Map<String, String> headers) {
    super(message, null, false, false);                    // expected outcomes: no stack trace needed
    this.status = status;
    this.headers = headers;
  }

  int status() {
    return status;
  }

  Map<String, String> headers() {
    return headers;
  }
}
