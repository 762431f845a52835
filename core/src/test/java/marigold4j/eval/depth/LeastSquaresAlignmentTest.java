package marigold4j.eval.depth;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import marigold4j.image.Npy;
import org.junit.jupiter.api.Test;

/** {@code align_depth_least_square} and {@code depth2disparity} against the original on small arrays. */
class LeastSquaresAlignmentTest {
  @Test
  void fitsTheSameFloat32ScaleAndShiftAndAlignedMap() {
    for (JsonNode c : DepthUnits.JSON.get("alignment")) {
      int k = c.get("index").asInt();
      Npy.Array gt = DepthUnits.array("a" + k + "_gt");
      int h = (int) gt.shape()[0];
      int w = (int) gt.shape()[1];
      Integer maxRes = c.get("max_resolution").isNull() ? null : c.get("max_resolution").asInt();
      float[] pred = DepthUnits.array("a" + k + "_pred").toFloats();
      LeastSquaresAlignment.Fit fit = LeastSquaresAlignment.fit(gt.toFloats(), pred,
          DepthUnits.array("a" + k + "_mask").toBooleans(), h, w, maxRes);
      assertThat(fit.scale()).as("case %d scale", k).isEqualTo((float) c.get("scale").asDouble());
      assertThat(fit.shift()).as("case %d shift", k).isEqualTo((float) c.get("shift").asDouble());
      assertThat(LeastSquaresAlignment.apply(pred, fit)).as("case %d aligned", k)
          .containsExactly(DepthUnits.array("a" + k + "_aligned").toFloats());
    }
  }

  @Test
  void subsamplesOnlyTheColumnsWithTorchsNearestIndices() {
    // ETH3D at --alignment_max_res 1024: 6048 columns -> 1024, source columns 0, 5, 11, 17, ...
    int[] cols = LeastSquaresAlignment.fitColumns(4032, 6048, 1024);
    assertThat(cols).hasSize(1024).startsWith(0, 5, 11, 17);
    assertThat(cols[1023]).isLessThan(6048);
    assertThat(LeastSquaresAlignment.fitColumns(40, 60, 24)).hasSize(24);
    assertThat(LeastSquaresAlignment.fitColumns(40, 60, 100)).hasSize(60);
    assertThat(LeastSquaresAlignment.fitColumns(40, 60, null)).hasSize(60);
  }

  @Test
  void gtDisparityIsTheFloat32InverseWherePositive() {
    for (JsonNode c : DepthUnits.JSON.get("alignment")) {
      int k = c.get("index").asInt();
      assertThat(LeastSquaresAlignment.inverseWherePositive(DepthUnits.array("a" + k + "_gt").toFloats()))
          .containsExactly(DepthUnits.array("a" + k + "_gt_disparity").toFloats());
    }
  }

  @Test
  void anEmptyFitGivesZeroScaleAndShiftAsNumpysLstsq() {
    LeastSquaresAlignment.Fit fit = LeastSquaresAlignment.fit(new float[] {1, 2}, new float[] {3, 4},
        new boolean[] {false, false}, 1, 2, null);
    assertThat(fit.scale()).isZero();
    assertThat(fit.shift()).isZero();
  }

  @Test
  void aConstantPredictionGetsTheMinimumNormSolution() {
    // lstsq([[2, 1], [2, 1]], [3, 5]): 2s + t = 4, nearest to the origin (1.6, 0.8)
    LeastSquaresAlignment.Fit fit = LeastSquaresAlignment.fit(new float[] {3, 5}, new float[] {2, 2},
        new boolean[] {true, true}, 1, 2, null);
    assertThat(fit.scaleF64()).isCloseTo(1.6, org.assertj.core.api.Assertions.within(1e-15));
    assertThat(fit.shiftF64()).isCloseTo(0.8, org.assertj.core.api.Assertions.within(1e-15));
  }
}
