package marigold4j.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import marigold4j.testing.Golden;
import marigold4j.torch.Engine;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** numpy .npy reading and writing. */
class NpyTest {
  @TempDir Path tmp;

  @BeforeAll
  static void init() {
    Engine.init();
  }

  private static final Path CLI_NPY = Golden.fixtures().resolve("io/marigold_depth_synthetic_gray_64x48_pred.npy");

  @Test
  void headerIsByteIdenticalToWhatRunPyWrote() throws Exception {
    byte[] file = Files.readAllBytes(CLI_NPY);
    byte[] header = Npy.header(Npy.DType.F4, new long[] {48, 64});
    assertThat(header.length % 64).isZero();
    assertThat(Arrays.copyOf(file, header.length)).isEqualTo(header);
  }

  @Test
  void rewritingTheCliDepthGivesTheSameBytes() throws Exception {
    Tensor depth = Npy.readTensor(CLI_NPY);
    assertThat(Tensors.shape(depth)).containsExactly(48, 64);
    assertThat(Tensors.dtype(depth)).isEqualTo(torch.ScalarType.Float);
    Path out = tmp.resolve("sub/depth.npy");
    Npy.write(out, depth);
    assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(CLI_NPY));
  }

  @Test
  void headersMatchNumpyForOtherShapesAndDtypes() {
    // np.save(..., np.zeros(shape, dtype)) headers of numpy 2.4 (>= 1.23: 21-digit growth room, 64-byte alignment)
    assertThat(headerText(Npy.DType.F8, 3)).isEqualTo("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }");
    assertThat(headerText(Npy.DType.U1)).isEqualTo("{'descr': '|u1', 'fortran_order': False, 'shape': (), }");
    assertThat(headerText(Npy.DType.B1, 3, 75, 101))
        .isEqualTo("{'descr': '|b1', 'fortran_order': False, 'shape': (3, 75, 101), }");
    byte[] h = Npy.header(Npy.DType.F8, new long[] {3});
    assertThat(h.length).isEqualTo(128);
    assertThat(h[h.length - 1]).isEqualTo((byte) '\n');
    // total header sizes as numpy 2.4 np.save writes them (checked when these tests were written)
    assertThat(Npy.header(Npy.DType.U1, new long[0]).length).isEqualTo(128);
    assertThat(Npy.header(Npy.DType.B1, new long[] {3, 75, 101}).length).isEqualTo(128);
    assertThat(Npy.header(Npy.DType.F2, new long[] {2, 3, 4}).length).isEqualTo(128);
  }

  private static String headerText(Npy.DType t, long... shape) {
    byte[] h = Npy.header(t, shape);
    return new String(h, 10, h.length - 10, StandardCharsets.US_ASCII).strip();
  }

  @Test
  void roundTripsEverySupportedDtype() {
    Tensor base = torch.arange(new org.bytedeco.pytorch.Scalar(24)).reshape(2, 3, 4).to(torch.ScalarType.Float)
        .sub(new org.bytedeco.pytorch.Scalar(7)).div(new org.bytedeco.pytorch.Scalar(3));
    for (torch.ScalarType t : new torch.ScalarType[] {torch.ScalarType.Float, torch.ScalarType.Double,
        torch.ScalarType.Long, torch.ScalarType.Byte, torch.ScalarType.Bool, torch.ScalarType.Half}) {
      Tensor x = t == torch.ScalarType.Byte ? base.abs().mul(new org.bytedeco.pytorch.Scalar(10)).to(t) : base.to(t);
      Path f = tmp.resolve(t + ".npy");
      Npy.write(f, x);
      Tensor y = Npy.readTensor(f);
      assertThat(Tensors.dtype(y)).as(t.toString()).isEqualTo(t);
      assertThat(Tensors.shape(y)).containsExactly(2, 3, 4);
      assertThat(y.to(torch.ScalarType.Double).equal(x.to(torch.ScalarType.Double))).as(t.toString()).isTrue();
    }
  }

  @Test
  void writesCOrderEvenForTransposedViews() {
    Tensor x = Tensors.fromFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).t(); // (3, 2), not contiguous
    Path f = tmp.resolve("t.npy");
    Npy.write(f, x);
    assertThat(Npy.read(f).toFloats()).containsExactly(1, 4, 2, 5, 3, 6);
  }

  @Test
  void rejectsFortranOrderTruncationAndUnknownDtypesNamingTheFile() throws Exception {
    byte[] good = Files.readAllBytes(CLI_NPY);
    Path fortran = tmp.resolve("fortran.npy");
    Files.write(fortran, new String(good, StandardCharsets.ISO_8859_1).replace("False", "True ")
        .getBytes(StandardCharsets.ISO_8859_1));
    assertThatThrownBy(() -> Npy.read(fortran)).hasMessageContaining("fortran.npy").hasMessageContaining("Fortran");
    Path cut = tmp.resolve("cut.npy");
    Files.write(cut, Arrays.copyOf(good, good.length - 4));
    assertThatThrownBy(() -> Npy.read(cut)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cut.npy").hasMessageContaining("truncated");
    Path big = tmp.resolve("bigendian.npy");
    Files.write(big, new String(good, StandardCharsets.ISO_8859_1).replace("<f4", ">f4")
        .getBytes(StandardCharsets.ISO_8859_1));
    assertThatThrownBy(() -> Npy.read(big)).hasMessageContaining("bigendian.npy").hasMessageContaining(">f4");
    Path junk = tmp.resolve("junk.npy");
    Files.writeString(junk, "hello");
    assertThatThrownBy(() -> Npy.read(junk)).hasMessageContaining("junk.npy").hasMessageContaining("magic");
  }

  @Test
  void writeIsAtomicAndLeavesNoTemporaryFiles() throws Exception {
    Path f = tmp.resolve("a.npy");
    Npy.write(f, Npy.Array.ofFloats(new float[] {1, 2}, 2));
    Npy.write(f, Npy.Array.ofFloats(new float[] {3, 4, 5}, 3)); // replaces
    assertThat(Npy.read(f).toFloats()).containsExactly(3, 4, 5);
    try (var files = Files.list(tmp)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("a.npy");
    }
  }

  @Test
  void aDeclaredShapeLargerThanTheFileIsRefusedNamingItWithoutAllocating() {
    // found by NpyFuzzTest: the element count overflowed a long (ArithmeticException), or dtype x count wrapped to a
    // negative or small size that passed the truncation check (an unnamed IllegalArgumentException, or a 2 GB copy)
    for (String shape : new String[] {"(4444444444744444444,)", "(3037000500, 3037000500)", "(2305843009213693952,)"}) {
      String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
      byte[] header = Npy.header(Npy.DType.F4, new long[] {1});
      byte[] file = Arrays.copyOf(header, header.length + 8);
      byte[] text = String.format("%-" + (header.length - 11) + "s\n", dict).getBytes(StandardCharsets.ISO_8859_1);
      System.arraycopy(text, 0, file, 10, text.length);
      assertThatThrownBy(() -> Npy.parse(file, "huge.npy")).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("huge.npy").hasMessageContaining("truncated .npy data");
    }
  }
}
