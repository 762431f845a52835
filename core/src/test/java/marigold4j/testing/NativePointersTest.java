package marigold4j.testing;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.IntPointer;
import org.junit.jupiter.api.Test;

class NativePointersTest {
  @Test
  void passesWhenEveryRoundFreesWhatItAllocated() {
    assertThatCode(() -> NativePointers.assertFlatOverScopedRounds(4, "round", () -> new IntPointer(16)))
        .doesNotThrowAnyException();
  }

  @Test
  void failsWhenARoundKeepsANativeObjectAlive() {
    List<IntPointer> kept = new ArrayList<>();
    try {
      assertThatThrownBy(() -> NativePointers.assertFlatOverScopedRounds(4, "round", () -> {
        IntPointer p = new IntPointer(16);
        p.retainReference();
        kept.add(p);
      })).isInstanceOf(AssertionError.class).hasMessageContaining("live native pointers after round 3 of 4");
    } finally {
      kept.forEach(IntPointer::deallocate);
    }
  }
}
