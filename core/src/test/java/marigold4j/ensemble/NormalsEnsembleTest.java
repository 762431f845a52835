package marigold4j.ensemble;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@link NormalsEnsemble} against the original {@code ensemble_normals} runs of the fixtures. */
class NormalsEnsembleTest {
  private static final Logger LOG = LoggerFactory.getLogger(NormalsEnsembleTest.class);

  record Case(String name, Tensor input, Tensor out, double atol) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Arguments> cases() {
    List<Arguments> all = new ArrayList<>();
    Golden utils = Golden.load("utils", "ensemble");
    for (String copy : new String[] {"marigold", "geowizard"}) {
      Tensor out = utils.tensor("normals." + copy + ".out");
      // utils/ensemble.json records no tolerance: the fixtures' floor for float32 outputs, 2e-6 x max|value|
      all.add(Arguments.of(new Case("utils/normals." + copy, utils.tensor("normals.input"), out, floor(out))));
    }
    for (String name : new String[] {"normals_ensemble3_gaussian_res64", "normals_ensemble3_pyramid_res64",
        "geowizard_indoor_ensemble3_gaussian_res64"}) {
      Golden g = Golden.load("pipelines", name);
      Tensor out = g.tensor("ensemble_normals.out");
      // the stage is a selection among normalised members: the floor is tighter than the final map's tolerance
      all.add(Arguments.of(new Case("pipelines/" + name, g.tensor("ensemble_normals.input"), out,
          Math.min(g.atol("final.normal_np"), floor(out)))));
    }
    return all.stream();
  }

  private static double floor(Tensor t) {
    return 2e-6 * t.abs().max().item_double();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void returnsTheNormalisedMemberClosestToTheSphericalMean(Case c) {
    NormalsEnsemble.Result r = NormalsEnsemble.ensemble(c.input());
    LOG.info(String.format(Locale.ROOT, "%s: member %d, max dev %.3g (atol %.3g)", c.name(), r.memberIndex(),
        Tensors.maxAbsDiff(r.normals(), c.out()), c.atol()));
    Golden.assertClose(r.normals(), c.out(), c.atol(), c.name());
  }

  @Test
  void returnsTheClosestMemberRatherThanTheMeanDirection() {
    // three constant 2x2 members tilted from +z towards +y by 0.2, 0.3 and 0.7 rad: the mean tilt is 0.4 rad,
    // closest to the second member, which is returned as it is (normalised), not the mean direction
    double[] tilts = {0.2, 0.3, 0.7};
    float[] data = new float[3 * 3 * 4];
    for (int m = 0; m < 3; m++) {
      for (int p = 0; p < 4; p++) {
        data[m * 12 + 4 + p] = (float) Math.sin(tilts[m]);
        data[m * 12 + 8 + p] = (float) Math.cos(tilts[m]);
      }
    }
    Tensor members = Tensors.fromFloats(data, 3, 3, 2, 2);
    NormalsEnsemble.Result r = NormalsEnsemble.ensemble(members);
    assertThat(r.memberIndex()).isEqualTo(1);
    Tensor second = members.select(0, 1);
    assertThat(Tensors.maxAbsDiff(r.normals(), second.div(new Scalar(1 + 1e-5))))
        .isLessThan(1e-6);
  }
}
