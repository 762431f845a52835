package marigold4j.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The multipart/form-data parser: what browsers and curl send, and malformed bodies refused with 400/415. */
class MultipartTest {
  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  void readsFieldsAndFilesAsBrowsersSendThem() {
    String body = "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"task\"\r\n\r\ndepth\r\n"
        + "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a;b \\\"c\\\".png\"\r\n"
        + "Content-Type: image/png\r\n\r\n\u0089PNG\r\n--not-the-boundary\r\n--XyZ--\r\nepilogue";
    Map<String, Multipart.Part> parts = Multipart.parse(ascii(body), Multipart.boundary(
        "multipart/form-data; boundary=\"XyZ\""));
    assertThat(parts.get("task").text()).isEqualTo("depth");
    Multipart.Part image = parts.get("image");
    assertThat(image.filename()).isEqualTo("a;b \"c\".png");
    assertThat(image.contentType()).isEqualTo("image/png");
    assertThat(image.data()).isEqualTo(ascii("\u0089PNG\r\n--not-the-boundary"));
  }

  @Test
  void refusesOtherContentTypesWith415() {
    assertThatThrownBy(() -> Multipart.boundary("application/x-www-form-urlencoded"))
        .isInstanceOfSatisfying(HttpError.class, e -> assertThat(e.status()).isEqualTo(415));
    assertThatThrownBy(() -> Multipart.boundary(null))
        .isInstanceOfSatisfying(HttpError.class, e -> assertThat(e.status()).isEqualTo(415));
  }

  @Test
  void aContentTypeOfOnlySeparatorsIsRefusedWith415() {
    // found by MultipartFuzzTest: ";".split(";") is empty, and the ArrayIndexOutOfBoundsException became a 500
    for (String type : new String[] {";", ";;", ""}) {
      assertThatThrownBy(() -> Multipart.boundary(type))
          .isInstanceOfSatisfying(HttpError.class, e -> assertThat(e.status()).isEqualTo(415));
    }
  }

  @Test
  void refusesATruncatedBodyWith400() {
    String body = "--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.png\"\r\n\r\nhalf an ima";
    assertThatThrownBy(() -> Multipart.parse(ascii(body), "B"))
        .isInstanceOfSatisfying(HttpError.class, e -> {
          assertThat(e.status()).isEqualTo(400);
          assertThat(e.getMessage()).contains("not terminated");
        });
  }

  @Test
  void namesDownloadsFromTheUploadWithoutItsFolders() {
    assertThat(PredictForm.baseName("../../etc/pass wd.png")).isEqualTo("pass_wd");
    assertThat(PredictForm.baseName("C:\\photos\\cat.jpeg")).isEqualTo("cat");
    assertThat(PredictForm.baseName(".hidden")).isEqualTo("image");
    assertThat(PredictForm.safeFileName("")).isEqualTo("image");
  }
}
