package marigold4j.prep;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A small CSV table (RFC 4180 quoting, first line = header), enough for Hypersim's split and meta files, and a
 * writer with pandas' minimal quoting.
 *
 * @param header column names in file order
 * @param rows cell text per data row (a missing trailing cell reads as "")
 */
public record CsvTable(List<String> header, List<List<String>> rows) {

  /**
   * Reads a CSV file.
   *
   * @throws IllegalArgumentException naming the file if it is missing, empty or malformed
   */
  public static CsvTable read(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": no such CSV file");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
    if (text.startsWith("\uFEFF")) text = text.substring(1);
    List<List<String>> lines = parse(file, text);
    if (lines.isEmpty()) throw new IllegalArgumentException(file + ": empty CSV file (no header)");
    List<String> header = lines.get(0);
    List<List<String>> rows = new ArrayList<>();
    for (int i = 1; i < lines.size(); i++) {
      List<String> row = new ArrayList<>(lines.get(i));
      if (row.size() > header.size()) {
        throw new IllegalArgumentException(file + ": line " + (i + 1) + " has " + row.size() + " cells, the header "
            + header.size());
      }
      while (row.size() < header.size()) row.add("");
      rows.add(row);
    }
    return new CsvTable(List.copyOf(header), rows);
  }

  /** Column positions by name. */
  public Map<String, Integer> columns() {
    Map<String, Integer> m = new HashMap<>();
    for (int i = 0; i < header.size(); i++) m.putIfAbsent(header.get(i), i);
    return m;
  }

  /**
   * The index of a required column.
   *
   * @throws IllegalArgumentException naming {@code file} and the missing column
   */
  public int column(String name, Path file) {
    Integer i = columns().get(name);
    if (i == null) throw new IllegalArgumentException(file + ": missing column '" + name + "' (has " + header + ")");
    return i;
  }

  /** One line of CSV with pandas' {@code QUOTE_MINIMAL} quoting (no line terminator). */
  public static String line(List<String> cells) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < cells.size(); i++) {
      if (i > 0) sb.append(',');
      String c = cells.get(i);
      if (c.contains(",") || c.contains("\"") || c.contains("\n") || c.contains("\r")) {
        sb.append('"').append(c.replace("\"", "\"\"")).append('"');
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  private static List<List<String>> parse(Path file, String text) {
    List<List<String>> out = new ArrayList<>();
    List<String> row = new ArrayList<>();
    StringBuilder cell = new StringBuilder();
    boolean quoted = false;
    boolean any = false;
    for (int i = 0; i < text.length(); i++) {
      char ch = text.charAt(i);
      if (quoted) {
        if (ch == '"') {
          if (i + 1 < text.length() && text.charAt(i + 1) == '"') {
            cell.append('"');
            i++;
          } else {
            quoted = false;
          }
        } else {
          cell.append(ch);
        }
        continue;
      }
      switch (ch) {
        case '"' -> {
          quoted = true;
          any = true;
        }
        case ',' -> {
          row.add(cell.toString());
          cell.setLength(0);
          any = true;
        }
        case '\r' -> { }
        case '\n' -> {
          if (any || cell.length() > 0) {
            row.add(cell.toString());
            out.add(row);
          }
          row = new ArrayList<>();
          cell.setLength(0);
          any = false;
        }
        default -> {
          cell.append(ch);
          any = true;
        }
      }
    }
    if (quoted) throw new IllegalArgumentException(file + ": unterminated quoted cell at the end of the file");
    if (any || cell.length() > 0) {
      row.add(cell.toString());
      out.add(row);
    }
    return out;
  }
}
