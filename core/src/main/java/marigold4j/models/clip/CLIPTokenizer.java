package marigold4j.models.clip;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.checkpoint.ConfigJson;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CLIP's byte-level BPE tokenizer, as transformers 4.37.2's slow {@code CLIPTokenizer} behaves without {@code ftfy}
 * installed (the environment the goldens and the original pipelines ran in): text is cleaned and lower-cased by
 * BERT's {@code BasicTokenizer} (accents kept, no punctuation splitting, CJK ideographs isolated), split by CLIP's
 * regular expression, mapped to byte symbols and merged by BPE rank.
 *
 * <p>Special tokens (BOS, EOS, UNK, PAD and any {@code added_tokens_decoder} entries) are cut out of the text before
 * any of that, so Stable Diffusion 2's pad token {@code "!"} splits {@code "a!b"} into {@code a}, {@code !},
 * {@code b}. Instances are immutable and thread-safe.
 */
public final class CLIPTokenizer {
  private static final Logger LOG = LoggerFactory.getLogger(CLIPTokenizer.class);
  private static final String BOS = "<|startoftext|>";
  private static final String EOS = "<|endoftext|>";
  /** transformers reads at most this many merges (the vocabulary size minus bytes and the two specials). */
  private static final int MAX_MERGES = 49152 - 256 - 2;
  private static final int CACHE_LIMIT = 50_000;

  // CLIP's pre-tokenizer. UNICODE_CHARACTER_CLASS makes \s Unicode-aware like the `regex` module's.
  private static final Pattern WORDS = Pattern.compile(
      "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
      Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);

  /** How {@link #encode} pads, named as transformers' {@code padding} argument values. */
  public enum Padding {
    /** {@code "do_not_pad"}: the encoding is as long as the text needs. */
    DO_NOT_PAD,
    /** {@code "max_length"}: padded on the right with the pad token up to the maximum length. */
    MAX_LENGTH
  }

  /**
   * Token ids with BOS/EOS added and the matching attention mask (1 for tokens, 0 for padding).
   *
   * @param ids token ids, int64 as the text encoder takes them
   * @param attentionMask 1 where {@code ids} holds a token of the text or a special token, 0 on padding
   */
  public record Encoding(long[] ids, long[] attentionMask) {
    /** The ids as a (1, L) int64 tensor, the text encoder's input. */
    public Tensor idsTensor() {
      return Tensors.fromLongs(ids, 1, ids.length);
    }

    @Override
    public String toString() {
      return "Encoding" + Arrays.toString(ids);
    }
  }

  private final Map<String, Integer> encoder;
  private final Map<String, Integer> bpeRanks;
  private final Map<String, Integer> specialTokens;   // content -> id, split out of the text before BPE
  private final List<String> specialBySize;           // longest first, so the longest match wins
  private final String[] byteEncoder = bytesToUnicode();
  private final Map<String, List<String>> cache = new ConcurrentHashMap<>();
  private final int bosId;
  private final int eosId;
  private final int unkId;
  private final int padId;
  private final String padToken;
  private final int modelMaxLength;

  private CLIPTokenizer(Map<String, Integer> encoder, List<String> merges, String unk, String pad,
      List<String> extraSpecials, int modelMaxLength) {
    this.encoder = encoder;
    Map<String, Integer> ranks = new HashMap<>();
    // A repeated merge keeps its last rank, as Python's dict(zip(merges, range(n))) does.
    for (int i = 0; i < merges.size(); i++) ranks.put(merges.get(i), i);
    this.bpeRanks = ranks;
    Map<String, Integer> specials = new LinkedHashMap<>();
    for (String s : concat(List.of(BOS, EOS, unk, pad), extraSpecials)) {
      // Added tokens that the vocabulary lacks get the next free id, as transformers assigns them.
      specials.computeIfAbsent(s, k -> encoder.getOrDefault(k, encoder.size() + specials.size()));
    }
    this.specialTokens = Collections.unmodifiableMap(specials);
    List<String> bySize = new ArrayList<>(specials.keySet());
    bySize.sort((a, b) -> Integer.compare(b.length(), a.length()));
    this.specialBySize = List.copyOf(bySize);
    this.bosId = specials.get(BOS);
    this.eosId = specials.get(EOS);
    this.unkId = specials.get(unk);
    this.padId = specials.get(pad);
    this.padToken = pad;
    this.modelMaxLength = modelMaxLength;
  }

  /**
   * Loads {@code vocab.json}, {@code merges.txt}, {@code tokenizer_config.json} and {@code special_tokens_map.json}
   * (which overrides the config's special tokens, as transformers does) from a checkpoint's {@code tokenizer/}
   * folder.
   */
  public static CLIPTokenizer load(Path tokenizerDir) {
    Path vocabFile = tokenizerDir.resolve("vocab.json");
    Path mergesFile = tokenizerDir.resolve("merges.txt");
    JsonNode vocabJson = readJson(vocabFile);
    Map<String, Integer> vocab = new HashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = vocabJson.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().canConvertToInt()) throw new CheckpointException(vocabFile, "id of '" + e.getKey() + "' is not an integer");
      vocab.put(e.getKey(), e.getValue().asInt());
    }
    List<String> merges = readMerges(mergesFile);

    Path configFile = tokenizerDir.resolve("tokenizer_config.json");
    Path mapFile = tokenizerDir.resolve("special_tokens_map.json");
    JsonNode config = Files.exists(configFile) ? readJson(configFile) : ConfigJson.mapper().createObjectNode();
    JsonNode map = Files.exists(mapFile) ? readJson(mapFile) : ConfigJson.mapper().createObjectNode();
    String unk = special(map, config, "unk_token", EOS);
    String pad = special(map, config, "pad_token", EOS);
    for (String key : List.of("bos_token", "eos_token")) {
      String expected = key.equals("bos_token") ? BOS : EOS;
      String actual = special(map, config, key, expected);
      if (!actual.equals(expected)) {
        throw new CheckpointException(tokenizerDir, key + " '" + actual + "' is not CLIP's " + expected);
      }
    }
    List<String> extra = new ArrayList<>();
    config.path("added_tokens_decoder").forEach(t -> {
      String content = t.path("content").asText(null);
      if (content != null) extra.add(content);
    });
    int maxLength = Integer.MAX_VALUE;
    JsonNode ml = config.path("model_max_length");
    if (ml.isNumber() && ml.asDouble() < Integer.MAX_VALUE) {
      maxLength = ml.asInt();
    } else {
      // transformers then uses a "very large integer": no truncation, and max_length padding needs a length.
      LOG.warn("{}: no usable model_max_length; sequences are not truncated", configFile);
    }
    return new CLIPTokenizer(vocab, merges, unk, pad, extra, maxLength);
  }

  /** A special token's content: special_tokens_map.json first, then tokenizer_config.json, then the default. */
  private static String special(JsonNode map, JsonNode config, String key, String dflt) {
    for (JsonNode src : List.of(map, config)) {
      JsonNode v = src.path(key);
      if (v.isTextual()) return v.asText();
      if (v.isObject() && v.path("content").isTextual()) return v.path("content").asText();
    }
    return dflt;
  }

  private static List<String> readMerges(Path file) {
    String text;
    try {
      text = Files.readString(marigold4j.checkpoint.LinkFiles.resolve(file), StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new CheckpointException(file, "file not found");
    } catch (IOException e) {
      throw new CheckpointException(file, "cannot read: " + e.getMessage(), e);
    }
    // Like transformers: strip the file, skip the "#version" line, keep at most MAX_MERGES lines.
    String[] lines = text.strip().split("\n", -1);
    List<String> merges = new ArrayList<>(Math.min(lines.length, MAX_MERGES));
    for (int i = 1; i < lines.length && i <= MAX_MERGES; i++) {
      String[] pair = lines[i].trim().split("\\s+");
      if (pair.length != 2) throw new CheckpointException(file, "line " + (i + 1) + " is not a merge pair: '" + lines[i] + "'");
      merges.add(pair[0] + " " + pair[1]);
    }
    return merges;
  }

  private static JsonNode readJson(Path file) {
    try {
      return ConfigJson.mapper().readTree(Files.readAllBytes(marigold4j.checkpoint.LinkFiles.resolve(file)));
    } catch (NoSuchFileException e) {
      throw new CheckpointException(file, "file not found");
    } catch (IOException e) {
      throw new CheckpointException(file, "invalid JSON: " + e.getMessage(), e);
    }
  }

  /** The tokenizer's {@code model_max_length} (77 for CLIP), or {@link Integer#MAX_VALUE} when unbounded. */
  public int modelMaxLength() {
    return modelMaxLength;
  }

  public int bosTokenId() {
    return bosId;
  }

  public int eosTokenId() {
    return eosId;
  }

  public int padTokenId() {
    return padId;
  }

  public String padToken() {
    return padToken;
  }

  /** {@code tokenizer(text, padding=..., max_length=model_max_length, truncation=...)}. */
  public Encoding encode(String text, Padding padding, boolean truncation) {
    return encode(text, padding, truncation, modelMaxLength);
  }

  /**
   * {@code tokenizer(text, padding=..., max_length=maxLength, truncation=...)}: BOS + tokens + EOS, with the tokens
   * cut so the whole fits in {@code maxLength} when truncating (EOS stays last), then right-padded with the pad
   * token up to {@code maxLength} for {@link Padding#MAX_LENGTH}. An over-long untruncated text is returned whole.
   */
  public Encoding encode(String text, Padding padding, boolean truncation, int maxLength) {
    if (maxLength < 2 && (truncation || padding == Padding.MAX_LENGTH)) {
      throw new IllegalArgumentException("max_length " + maxLength + " leaves no room for BOS and EOS");
    }
    if (padding == Padding.MAX_LENGTH && maxLength == Integer.MAX_VALUE) {
      throw new IllegalArgumentException("max_length padding needs a model_max_length or an explicit max_length");
    }
    List<String> tokens = bpeTokens(text);
    int keep = truncation ? Math.min(tokens.size(), maxLength - 2) : tokens.size();
    int len = keep + 2;
    int total = padding == Padding.MAX_LENGTH ? Math.max(len, maxLength) : len;
    long[] ids = new long[total];
    long[] mask = new long[total];
    ids[0] = bosId;
    for (int i = 0; i < keep; i++) ids[i + 1] = tokenId(tokens.get(i));
    ids[keep + 1] = eosId;
    Arrays.fill(mask, 0, len, 1);
    Arrays.fill(ids, len, total, padId);
    return new Encoding(ids, mask);
  }

  private int tokenId(String token) {
    Integer special = specialTokens.get(token);
    if (special != null) return special;
    return encoder.getOrDefault(token, unkId);
  }

  /**
   * {@code tokenizer.tokenize(text)}: the BPE token strings (word ends marked {@code </w>}), with special tokens
   * kept whole and no BOS/EOS added.
   */
  public List<String> bpeTokens(String text) {
    List<String> out = new ArrayList<>();
    for (String chunk : splitOnSpecialTokens(text)) {
      if (chunk.isEmpty()) continue;
      if (specialTokens.containsKey(chunk)) {
        out.add(chunk);
        continue;
      }
      Matcher m = WORDS.matcher(basicClean(chunk));
      while (m.find()) {
        StringBuilder symbols = new StringBuilder();
        for (byte b : m.group().getBytes(StandardCharsets.UTF_8)) symbols.append(byteEncoder[b & 0xff]);
        out.addAll(bpe(symbols.toString()));
      }
    }
    return out;
  }

  /** Cuts the text at every special token, earliest occurrence first, longest token on ties. */
  private List<String> splitOnSpecialTokens(String text) {
    List<String> parts = new ArrayList<>();
    int start = 0;
    int i = 0;
    while (i < text.length()) {
      String hit = null;
      for (String s : specialBySize) {
        if (text.startsWith(s, i)) {
          hit = s;
          break;
        }
      }
      if (hit == null) {
        i++;
        continue;
      }
      parts.add(text.substring(start, i));
      parts.add(hit);
      i += hit.length();
      start = i;
    }
    parts.add(text.substring(start));
    return parts;
  }

  /**
   * BERT's BasicTokenizer as CLIP configures it (lower case, accents kept, no punctuation split): drop control
   * characters, map whitespace to spaces, isolate CJK ideographs, NFC-normalise, lower-case each word, and join the
   * words with single spaces.
   */
  static String basicClean(String text) {
    StringBuilder cleaned = new StringBuilder(text.length() + 8);
    text.codePoints().forEach(cp -> {
      if (cp == 0 || cp == 0xFFFD || isControl(cp)) return;
      if (isBertWhitespace(cp)) {
        cleaned.append(' ');
      } else if (isCjkIdeograph(cp)) {
        cleaned.append(' ').appendCodePoint(cp).append(' ');
      } else {
        cleaned.appendCodePoint(cp);
      }
    });
    String nfc = Normalizer.normalize(cleaned, Normalizer.Form.NFC);
    StringBuilder out = new StringBuilder(nfc.length());
    for (String word : splitPythonWhitespace(nfc)) {
      if (out.length() > 0) out.append(' ');
      out.append(word.toLowerCase(Locale.ROOT));
    }
    return out.toString();
  }

  private static boolean isControl(int cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return false;
    int type = Character.getType(cp);
    return type == Character.CONTROL || type == Character.FORMAT || type == Character.PRIVATE_USE
        || type == Character.SURROGATE || type == Character.UNASSIGNED;
  }

  private static boolean isBertWhitespace(int cp) {
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR;
  }

  /** Python's {@code str.isspace()}, which {@code str.split()} splits on. */
  private static boolean isPythonSpace(int cp) {
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680
        || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
        || cp == 0x3000;
  }

  private static List<String> splitPythonWhitespace(String s) {
    List<String> words = new ArrayList<>();
    int start = -1;
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      if (isPythonSpace(cp)) {
        if (start >= 0) words.add(s.substring(start, i));
        start = -1;
      } else if (start < 0) {
        start = i;
      }
      i += Character.charCount(cp);
    }
    if (start >= 0) words.add(s.substring(start));
    return words;
  }

  /** The CJK Unified Ideographs blocks BERT isolates (not Hangul, Hiragana or Katakana). */
  private static boolean isCjkIdeograph(int cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
        || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
        || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }

  /** Byte-pair merging of one pre-token (already mapped to byte symbols), lowest merge rank first. */
  private List<String> bpe(String token) {
    List<String> cached = cache.get(token);
    if (cached != null) return cached;
    List<String> word = new ArrayList<>();
    token.codePoints().forEach(cp -> word.add(new String(Character.toChars(cp))));
    word.set(word.size() - 1, word.get(word.size() - 1) + "</w>");
    while (word.size() > 1) {
      int bestRank = Integer.MAX_VALUE;
      String first = null;
      String second = null;
      for (int i = 0; i + 1 < word.size(); i++) {
        Integer r = bpeRanks.get(word.get(i) + " " + word.get(i + 1));
        if (r != null && r < bestRank) {
          bestRank = r;
          first = word.get(i);
          second = word.get(i + 1);
        }
      }
      if (first == null) break;
      // Merge every non-overlapping occurrence of the pair, left to right.
      List<String> merged = new ArrayList<>(word.size());
      for (int i = 0; i < word.size(); ) {
        if (i + 1 < word.size() && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
          merged.add(first + second);
          i += 2;
        } else {
          merged.add(word.get(i));
          i++;
        }
      }
      word.clear();
      word.addAll(merged);
    }
    List<String> result = List.copyOf(word);
    if (cache.size() >= CACHE_LIMIT) cache.clear();
    cache.put(token, result);
    return result;
  }

  /**
   * GPT-2's reversible byte-to-symbol table: printable Latin-1 bytes map to themselves, the other 68 bytes to
   * code points from U+0100 on, so no byte becomes whitespace or a control character.
   */
  private static String[] bytesToUnicode() {
    String[] table = new String[256];
    int next = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      table[b] = new String(Character.toChars(printable ? b : 256 + next++));
    }
    return table;
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }
}
