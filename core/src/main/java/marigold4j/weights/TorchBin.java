package marigold4j.weights;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import marigold4j.checkpoint.CheckpointException;
import marigold4j.torch.Engine;
import marigold4j.torch.F;
import marigold4j.torch.Tensors;
import marigold4j.weights.RestrictedUnpickler.StorageRef;
import marigold4j.weights.RestrictedUnpickler.TensorRef;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Reads PyTorch {@code .bin} / {@code .pt} state dicts in the zip format {@code torch.save} has written since 1.6:
 * {@code <archive>/data.pkl} (the pickled dict), {@code <archive>/data/<key>} (one raw little-endian entry per
 * storage), {@code <archive>/version} and, since 2.x, {@code <archive>/byteorder}.
 *
 * <p>The pickle is read by {@link RestrictedUnpickler}: only what a state dict needs is accepted, and a file that
 * references anything else (e.g. {@code os.system}) is refused before any object is built. Every view is bounds
 * checked against its storage before it is materialised, and storages shared by several tensors (a transpose, a
 * row slice) are read once; each returned tensor is contiguous and owns its memory, except that a tensor that is
 * the only, exact view of its storage is returned without a copy.
 */
public final class TorchBin {
  /** data.pkl of a state dict is small (kilobytes per thousand tensors); anything huge is not one. */
  private static final long MAX_PICKLE = 256L * 1024 * 1024;

  private TorchBin() {}

  /** Loads the state dict in {@code file}, in the pickle's key order, on the CPU with the stored dtypes. */
  public static Map<String, Tensor> load(Path file) {
    Engine.init();
    NativeBytes.requireLittleEndianHost();
    checkMagic(file);
    try (ZipFile zip = new ZipFile(file.toFile())) {
      String prefix = archivePrefix(file, zip);
      checkByteOrder(file, zip, prefix);
      Object root = RestrictedUnpickler.load(file, readSmall(file, zip, zip.getEntry(prefix + "data.pkl")));
      Map<String, TensorRef> refs = tensorRefs(file, root);
      return materialise(file, zip, prefix, refs);
    } catch (ZipException e) {
      throw new CheckpointException(file, "corrupted or truncated zip archive: " + e.getMessage(), e);
    } catch (NoSuchFileException e) {
      throw new CheckpointException(file, "file not found");
    } catch (IOException e) {
      throw new CheckpointException(file, "cannot read: " + e.getMessage(), e);
    }
  }

  /** Gives the pre-1.6 (non-zip) format and non-archives a message of their own before the zip reader sees them. */
  private static void checkMagic(Path file) {
    byte[] head = new byte[4];
    int n;
    try (InputStream in = Files.newInputStream(file)) {
      n = in.readNBytes(head, 0, 4);
    } catch (NoSuchFileException e) {
      throw new CheckpointException(file, "file not found");
    } catch (IOException e) {
      throw new CheckpointException(file, "cannot read: " + e.getMessage(), e);
    }
    if (n >= 2 && (head[0] & 0xff) == 0x80 && head[1] >= 2 && head[1] <= 5) {
      throw new CheckpointException(file, "legacy (pre-1.6, non-zip) torch.save format is not supported: re-save "
          + "it with a current torch or convert it to safetensors");
    }
    if (n < 4 || head[0] != 'P' || head[1] != 'K') {
      throw new CheckpointException(file, "not a torch.save zip archive (" + n + "-byte header "
          + Arrays.toString(Arrays.copyOf(head, n)) + "); corrupted, truncated or not a PyTorch file");
    }
  }

  /** The archive's top-level folder, as torch's reader finds it: the one holding data.pkl. */
  private static String archivePrefix(Path file, ZipFile zip) {
    TreeSet<String> found = new TreeSet<>();
    for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
      String name = en.nextElement().getName();
      int slash = name.indexOf('/');
      if (slash > 0 && name.substring(slash + 1).equals("data.pkl")) found.add(name.substring(0, slash + 1));
    }
    if (found.isEmpty()) throw new CheckpointException(file, "no <archive>/data.pkl: not a torch.save archive");
    if (found.size() > 1) throw new CheckpointException(file, "several archives in one file: " + found);
    return found.first();
  }

  private static void checkByteOrder(Path file, ZipFile zip, String prefix) throws IOException {
    ZipEntry e = zip.getEntry(prefix + "byteorder");
    if (e == null) return; // written since torch 2.1; older files are little-endian
    String order = new String(readSmall(file, zip, e), StandardCharsets.US_ASCII).trim();
    if (!order.equals("little")) {
      throw new CheckpointException(file, "tensors stored in '" + order + "' byte order; only little-endian is supported");
    }
  }

  private static byte[] readSmall(Path file, ZipFile zip, ZipEntry e) throws IOException {
    if (e.getSize() > MAX_PICKLE) throw new CheckpointException(file, e.getName() + " is too large: " + e.getSize());
    try (InputStream in = zip.getInputStream(e)) {
      byte[] b = in.readNBytes((int) MAX_PICKLE + 1);
      if (b.length > MAX_PICKLE) throw new CheckpointException(file, e.getName() + " is too large");
      return b;
    }
  }

  /** The root must be a dict of name -> tensor; anything else is not a state dict. */
  private static Map<String, TensorRef> tensorRefs(Path file, Object root) {
    if (!(root instanceof Map<?, ?> m)) {
      throw new CheckpointException(file, "the pickled root is not a dict of tensors (a full model or a training "
          + "checkpoint?); save model.state_dict() instead");
    }
    Map<String, TensorRef> refs = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      if (!(e.getKey() instanceof String key)) {
        throw new CheckpointException(file, "state dict key " + e.getKey() + " is not a string");
      }
      if (!(e.getValue() instanceof TensorRef t)) {
        throw new CheckpointException(file, "state dict entry '" + key + "' is not a tensor; a nested checkpoint "
            + "(e.g. {'state_dict': ...}) is not a plain state dict");
      }
      checkView(file, key, t);
      refs.put(key, t);
    }
    return refs;
  }

  /** The view must stay inside its storage: as_strided does not check, and reading past it would crash. */
  private static void checkView(Path file, String key, TensorRef t) {
    String where = "tensor '" + key + "'";
    if (t.size().length != t.stride().length) {
      throw new CheckpointException(file, where + ": size " + Arrays.toString(t.size()) + " and stride "
          + Arrays.toString(t.stride()) + " differ in length");
    }
    try {
      long numel = 1;
      long last = t.offset();
      for (int i = 0; i < t.size().length; i++) {
        if (t.size()[i] < 0 || t.stride()[i] < 0) throw new ArithmeticException();
        numel = Math.multiplyExact(numel, t.size()[i]);
        if (t.size()[i] > 0) last = Math.addExact(last, Math.multiplyExact(t.size()[i] - 1, t.stride()[i]));
      }
      boolean inside = t.offset() >= 0 && (numel == 0 ? t.offset() <= t.storage().numel() : last < t.storage().numel());
      if (!inside) throw new ArithmeticException();
    } catch (ArithmeticException e) {
      throw new CheckpointException(file, where + ": view (offset " + t.offset() + ", size " + Arrays.toString(t.size())
          + ", stride " + Arrays.toString(t.stride()) + ") lies outside its storage '" + t.storage().key() + "' of "
          + t.storage().numel() + " elements");
    }
  }

  private static Map<String, Tensor> materialise(Path file, ZipFile zip, String prefix, Map<String, TensorRef> refs)
      throws IOException {
    Map<String, StorageRef> storages = new LinkedHashMap<>();
    Map<String, Integer> uses = new HashMap<>();
    for (Map.Entry<String, TensorRef> e : refs.entrySet()) {
      StorageRef s = e.getValue().storage();
      StorageRef seen = storages.putIfAbsent(s.key(), s);
      if (seen != null && (seen.dtype() != s.dtype() || seen.numel() != s.numel())) {
        throw new CheckpointException(file, "storage '" + s.key() + "' is referenced as " + seen.dtype() + " x "
            + seen.numel() + " and as " + s.dtype() + " x " + s.numel() + " (tensor '" + e.getKey() + "')");
      }
      uses.merge(s.key(), 1, Integer::sum);
    }
    Map<String, Tensor> data = new HashMap<>();
    for (StorageRef s : storages.values()) data.put(s.key(), readStorage(file, zip, prefix, s));

    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, TensorRef> e : refs.entrySet()) {
      TensorRef t = e.getValue();
      String key = t.storage().key();
      Tensor storage = data.get(key);
      boolean whole = uses.get(key) == 1 && t.offset() == 0 && isContiguous(t.size(), t.stride())
          && numel(t.size()) == t.storage().numel();
      if (whole) {
        out.put(e.getKey(), storage.view(t.size()));
      } else {
        // a view of a shared storage (transpose -> strides, slice -> offset): copy it out densely
        out.put(e.getKey(), Tensors.stridedCopy(storage, t.size(), t.stride(), t.offset()));
      }
      // the storage's memory goes as soon as its last view is out (the returned view keeps what it needs alive)
      if (uses.merge(key, -1, Integer::sum) == 0) data.remove(key).close();
    }
    return out;
  }

  private static Tensor readStorage(Path file, ZipFile zip, String prefix, StorageRef s) throws IOException {
    String name = prefix + "data/" + s.key();
    ZipEntry e = zip.getEntry(name);
    if (e == null) throw new CheckpointException(file, "storage entry " + name + " is missing");
    long nbytes = Math.multiplyExact(s.numel(), (long) s.dtype().bytes());
    if (e.getSize() != nbytes) {
      throw new CheckpointException(file, "storage entry " + name + " holds " + e.getSize() + " bytes but "
          + s.dtype() + " x " + s.numel() + " needs " + nbytes);
    }
    // the storage is allocated before it is read, so its size (declared twice, in the pickle and the zip directory)
    // must be one the archive's bytes can hold: as stored, or at deflate's largest expansion (1032:1)
    long packed = e.getCompressedSize();
    long most = e.getMethod() == ZipEntry.STORED ? packed : packed * 1032;
    if (packed < 0 || packed > Files.size(file) || nbytes > most) {
      throw new CheckpointException(file, "storage entry " + name + " declares " + nbytes + " bytes, more than its "
          + packed + " bytes in the archive can hold (corrupted or truncated archive)");
    }
    Tensor t = F.empty(new long[] {s.numel()}, s.dtype().torchType());
    try (InputStream in = zip.getInputStream(e)) {
      NativeBytes.read(in, t, nbytes);
    } catch (java.io.EOFException ex) {
      throw new CheckpointException(file, "storage entry " + name + " is truncated: " + ex.getMessage(), ex);
    }
    return t;
  }

  private static long numel(long[] size) {
    long n = 1;
    for (long d : size) n *= d;
    return n;
  }

  private static boolean isContiguous(long[] size, long[] stride) {
    long expected = 1;
    for (int i = size.length - 1; i >= 0; i--) {
      if (size[i] != 1 && stride[i] != expected) return false;
      expected *= size[i];
    }
    return true;
  }
}
