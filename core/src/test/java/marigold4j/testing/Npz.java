package marigold4j.testing;

import java.nio.file.Path;
import java.util.Map;
import marigold4j.image.Npy;

/** A numpy {@code .npz} fixture (a zip of {@code .npy} members) as plain Java arrays. */
public final class Npz {
  private final Map<String, Npy.Array> arrays;

  private Npz(Map<String, Npy.Array> arrays) {
    this.arrays = arrays;
  }

  public static Npz load(Path file) {
    return new Npz(Npy.readNpz(file));
  }

  public Npy.Array array(String key) {
    Npy.Array a = arrays.get(key);
    if (a == null) throw new IllegalArgumentException("no array " + key + "; have " + arrays.keySet());
    return a;
  }

  public long[] shape(String key) {
    return array(key).shape();
  }

  public double[] doubles(String key) {
    Npy.Array a = array(key);
    return switch (a.dtype()) {
      case F8 -> {
        double[] d = new double[a.data().length / 8];
        a.buffer().asDoubleBuffer().get(d);
        yield d;
      }
      case F4 -> {
        float[] f = a.toFloats();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        yield d;
      }
      default -> throw new IllegalArgumentException(key + " is " + a.dtype());
    };
  }

  public float[] floats(String key) {
    return array(key).toFloats();
  }

  public int[] ints(String key) {
    Npy.Array a = array(key);
    return switch (a.dtype()) {
      case I8 -> {
        long[] l = new long[a.data().length / 8];
        a.buffer().asLongBuffer().get(l);
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) out[i] = Math.toIntExact(l[i]);
        yield out;
      }
      case U1, B1 -> {
        int[] out = new int[a.data().length];
        for (int i = 0; i < out.length; i++) out[i] = a.data()[i] & 0xff;
        yield out;
      }
      default -> throw new IllegalArgumentException(key + " is " + a.dtype());
    };
  }

  public byte[] bytes(String key) {
    return array(key).data();
  }
}
