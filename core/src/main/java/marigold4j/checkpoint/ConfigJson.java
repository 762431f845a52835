package marigold4j.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.DeserializationProblemHandler;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a checkpoint's JSON config ({@code config.json}, {@code model_index.json}, {@code scheduler_config.json},
 * ...) into a record. Keys the record does not know are logged once per key and otherwise ignored (configs carry
 * bookkeeping such as {@code _diffusers_version}); whether a known key's <em>value</em> is supported is the model's
 * decision, which it reports by throwing {@link CheckpointException} naming the key.
 */
public final class ConfigJson {
  private static final Logger LOG = LoggerFactory.getLogger(ConfigJson.class);
  private static final Set<String> WARNED = ConcurrentHashMap.newKeySet();
  private static final ObjectMapper MAPPER = new ObjectMapper()
      .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true)
      .configure(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY, true)
      .addHandler(new DeserializationProblemHandler() {
        @Override
        public boolean handleUnknownProperty(DeserializationContext ctxt, JsonParser p,
            JsonDeserializer<?> deserializer, Object beanOrClass, String name) throws IOException {
          String cls = beanOrClass instanceof Class<?> c ? c.getSimpleName() : beanOrClass.getClass().getSimpleName();
          if (!name.startsWith("_") && WARNED.add(cls + "." + name)) {
            LOG.debug("{}: ignoring config key '{}'", cls, name);
          }
          p.skipChildren();
          return true;
        }
      });

  private ConfigJson() {}

  public static ObjectMapper mapper() {
    return MAPPER;
  }

  /**
   * Where in the JSON a mapping error is, as {@code "key 'down_block_types[1]': "} (object keys and array indices,
   * outermost first), or "" when Jackson gives no location.
   */
  public static String keyOf(com.fasterxml.jackson.databind.JsonMappingException e) {
    StringBuilder sb = new StringBuilder();
    for (com.fasterxml.jackson.databind.JsonMappingException.Reference r : e.getPath()) {
      if (r.getFieldName() != null) {
        if (sb.length() > 0) sb.append('.');
        sb.append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        sb.append('[').append(r.getIndex()).append(']');
      }
    }
    return sb.length() == 0 ? "" : "key '" + sb + "': ";
  }

  public static <T> T read(Path file, Class<T> type) {
    try {
      T value = MAPPER.readValue(Files.readAllBytes(LinkFiles.resolve(file)), type);
      // the JSON literal null (or a file of whitespace) maps to no object at all
      if (value == null) throw new CheckpointException(file, "expected a JSON object, found null or nothing");
      return value;
    } catch (NoSuchFileException e) {
      throw new CheckpointException(file, "file not found");
    } catch (MismatchedInputException e) {
      throw new CheckpointException(file, keyOf(e) + e.getOriginalMessage());
    } catch (IOException e) {
      throw new CheckpointException(file, "invalid JSON: " + e.getMessage(), e);
    }
  }
}
