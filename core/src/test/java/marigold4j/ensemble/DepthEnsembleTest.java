package marigold4j.ensemble;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link DepthEnsemble} against the original {@code ensemble_depths} runs recorded in {@code utils/ensemble.*} (crafted
 * inputs, Marigold's and GeoWizard's copies) and in the ensemble stages of the pipeline goldens.
 */
class DepthEnsembleTest {
  private static final Logger LOG = LoggerFactory.getLogger(DepthEnsembleTest.class);

  /** One recorded call of ensemble_depths: its input, outputs, the scipy trace and the tolerance of its outputs. */
  record Case(String name, Tensor input, Tensor out, Tensor uncertainty, JsonNode bfgs, double outAtol,
      double uncertaintyAtol) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Arguments> cases() {
    List<Arguments> all = new ArrayList<>();
    Golden utils = Golden.load("utils", "ensemble");
    for (JsonNode c : utils.json().path("cases")) {
      String key = c.path("key").asText();
      Tensor out = utils.tensor(key + ".out");
      Tensor unc = utils.tensor(key + ".uncertainty");
      // utils/ensemble.json records no tolerance: use the fixtures' floor for float32 outputs, 2e-6 x max|value|
      all.add(Arguments.of(new Case("utils/" + key, utils.tensor(c.path("input").asText()), out, unc,
          c.path("bfgs").get(0), floor(out), floor(unc))));
    }
    for (String name : new String[] {"depth_ensemble3_gaussian", "depth_ensemble3_batch2_res64",
        "geowizard_indoor_ensemble3_gaussian_res64"}) {
      Golden g = Golden.load("pipelines", name);
      Tensor out = g.tensor("ensemble_depths.out");
      Tensor unc = g.tensor("ensemble_depths.uncertainty");
      // The pipeline's tolerances (final depth / uncertainty vs a float64 run) include the float64 run's own BFGS
      // path where it differed; with the recorded optimum the stage is deterministic, so the floor applies too.
      all.add(Arguments.of(new Case("pipelines/" + name, g.tensor("ensemble_depths.input"), out, unc,
          g.json().path("bfgs").get(0), Math.min(g.atol("final.depth_np"), floor(out)),
          Math.min(g.atol("final.uncertainty"), floor(unc)))));
    }
    return all.stream();
  }

  private static double floor(Tensor t) {
    return 2e-6 * t.abs().max().item_double();
  }

  private static double[] doubles(JsonNode array) {
    double[] v = new double[array.size()];
    for (int i = 0; i < v.length; i++) v[i] = array.get(i).asDouble();
    return v;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void startsFromTheRecordedInitialGuess(Case c) {
    assertThat(new DepthEnsemble().initialGuess(c.input())).containsExactly(doubles(c.bfgs().path("x0")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void reproducesEveryRecordedObjectiveEvaluation(Case c) {
    Bfgs.Objective objective = new DepthEnsemble().objective(c.input());
    double worstUlps = 0;
    for (JsonNode e : c.bfgs().path("evaluations")) {
      double expected = e.path("f").asDouble();
      double actual = objective.value(doubles(e.path("x")));
      double ulps = Math.abs(actual - expected) / Math.ulp((float) expected);
      worstUlps = Math.max(worstUlps, ulps);
    }
    LOG.info("{}: {} objective evaluations, worst |java - python| = {} float32 ulp", c.name(),
        c.bfgs().path("evaluations").size(), worstUlps);
    // float32 tolerance: a sum order difference in the mean over the pairs moves the value by an ulp or two
    assertThat(worstUlps).as("worst deviation in float32 ulp").isLessThanOrEqualTo(2);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void reproducesDepthAndUncertaintyWithTheRecordedOptimum(Case c) {
    DepthEnsemble.Result r = new DepthEnsemble().ensembleWithParams(c.input(), doubles(c.bfgs().path("x")));
    LOG.info(String.format(Locale.ROOT, "%s: depth max dev %.3g (atol %.3g), uncertainty max dev %.3g (atol %.3g)",
        c.name(), Tensors.maxAbsDiff(r.depth(), c.out()), c.outAtol(),
        Tensors.maxAbsDiff(r.uncertainty(), c.uncertainty()), c.uncertaintyAtol()));
    Golden.assertClose(r.depth(), c.out(), c.outAtol(), c.name() + " depth");
    Golden.assertClose(r.uncertainty(), c.uncertainty(), c.uncertaintyAtol(), c.name() + " uncertainty");
  }

  /**
   * Our optimiser against scipy's recorded run, evaluation by evaluation. This holds bit for bit only while the
   * float32 objective does (same summation order as the fixtures' machine, 2 threads); any one-ulp difference makes
   * the finite-difference gradients, and so the path, diverge.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void bfgsReplaysTheRecordedScipyRun(Case c) {
    List<double[]> points = new ArrayList<>();
    List<Double> values = new ArrayList<>();
    Bfgs.Objective objective = new DepthEnsemble().objective(c.input());
    Bfgs.Objective recording = x -> {
      double f = objective.value(x);
      points.add(x.clone());
      values.add(f);
      return f;
    };
    double[] x0 = new DepthEnsemble().initialGuess(c.input());
    Bfgs.Result res = Bfgs.minimize(recording, x0, 1e-3, 2);
    JsonNode evals = c.bfgs().path("evaluations");
    int firstDivergence = -1;
    for (int i = 0; i < Math.min(evals.size(), points.size()); i++) {
      if (!Arrays.equals(points.get(i), doubles(evals.get(i).path("x")))
          || values.get(i) != evals.get(i).path("f").asDouble()) {
        firstDivergence = i;
        break;
      }
    }
    double[] expectedX = doubles(c.bfgs().path("x"));
    double dx = 0;
    for (int i = 0; i < expectedX.length; i++) dx = Math.max(dx, Math.abs(res.x()[i] - expectedX[i]));
    LOG.info(String.format(Locale.ROOT,
        "%s: java nit %d nfev %d fun %.9g (%s) | scipy nit %d nfev %d fun %.9g | first differing evaluation %d |"
            + " max |x_java - x_scipy| %.3g",
        c.name(), res.nit(), res.nfev(), res.fun(), res.message(), c.bfgs().path("nit").asInt(),
        c.bfgs().path("nfev").asInt(), c.bfgs().path("fun").asDouble(), firstDivergence, dx));
    assertThat(firstDivergence).as("first evaluation that differs from scipy's").isEqualTo(-1);
    assertThat(res.nfev()).isEqualTo(c.bfgs().path("nfev").asInt());
    assertThat(res.nit()).isEqualTo(c.bfgs().path("nit").asInt());
    assertThat(res.x()).containsExactly(expectedX);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void reproducesTheWholeStageIncludingTheOptimiser(Case c) {
    DepthEnsemble.Result r = new DepthEnsemble().ensemble(c.input());
    Golden.assertClose(r.depth(), c.out(), c.outAtol(), c.name() + " depth");
    Golden.assertClose(r.uncertainty(), c.uncertainty(), c.uncertaintyAtol(), c.name() + " uncertainty");
  }

  @Test
  void acceptsMembersWithAChannelDimension() {
    Tensor members = Golden.load("utils", "ensemble").tensor("depth.affine_members.input"); // (3, 20, 24)
    DepthEnsemble.Result flat = new DepthEnsemble().ensemble(members);
    DepthEnsemble.Result channel = new DepthEnsemble().ensemble(members.unsqueeze(1));
    assertThat(Tensors.maxAbsDiff(flat.depth(), channel.depth())).isZero();
    assertThat(Tensors.shape(channel.depth())).containsExactly(20, 24);
  }

  @Test
  void float64MembersStartFromTheFloat32RoundedGuessAndMatchTheFloat32Stage() {
    Case c = (Case) cases().findFirst().orElseThrow().get()[0];
    double[] x32 = new DepthEnsemble().initialGuess(c.input());
    double[] x64 = new DepthEnsemble().initialGuess(c.input().to(torch.ScalarType.Double));
    for (int i = 0; i < x32.length; i++) {
      assertThat(x64[i]).as("x0[" + i + "] is float32-valued").isEqualTo((double) (float) x64[i]);
      assertThat(x64[i]).isCloseTo(x32[i], org.assertj.core.api.Assertions.within(1e-6));
    }
    DepthEnsemble.Result r = new DepthEnsemble().ensembleWithParams(c.input().to(torch.ScalarType.Double),
        doubles(c.bfgs().path("x")));
    Golden.assertClose(r.depth().to(torch.ScalarType.Float), c.out(), 1e-5, "float64 stage vs float32 golden");
  }

  @Test
  void meanReductionUsesTheUnbiasedStandardDeviationAsUncertainty() {
    // members d, d + 0.1, d + 0.2 with identity alignment: mean d + 0.1, std 0.1
    Tensor d = Tensors.fromFloats(new float[] {0.0f, 0.25f, 0.5f, 1.0f}, 2, 2);
    Tensor members = torch.stack(new TensorVector(d, d.add(new Scalar(0.1)),
        d.add(new Scalar(0.2))), 0);
    DepthEnsemble mean = new DepthEnsemble(0.02, 2, 1e-3, DepthEnsemble.Reduction.MEAN, null);
    DepthEnsemble.Result r = mean.ensembleWithParams(members, new double[] {1, 1, 1, 0, 0, 0});
    assertThat(Tensors.toFloats(r.depth())).usingComparatorWithPrecision(1e-6f)
        .containsExactly(0.0f, 0.25f, 0.5f, 1.0f);
    // the uncertainty is divided by the range of the mean (1.0)
    assertThat(Tensors.toFloats(r.uncertainty())).usingComparatorWithPrecision(1e-6f)
        .containsExactly(0.1f, 0.1f, 0.1f, 0.1f);
  }

  @Test
  void maxResDownscalesOnlyTheWidthForTheOptimiserAsTheOriginalsUpsampleDoes() {
    Tensor members = Golden.load("utils", "ensemble").tensor("depth.affine_members.input"); // (3, 20, 24)
    DepthEnsemble limited = new DepthEnsemble(0.02, 2, 1e-3, DepthEnsemble.Reduction.MEDIAN, 12);
    // scale = min(12/20, 12/24) = 0.5: nn.Upsample on (N, H, W) resamples the last axis only, every 2nd column
    Tensor seen = limited.optimisationInput(members);
    assertThat(Tensors.shape(seen)).containsExactly(3, 20, 12);
    Tensor everyOther = members.index_select(2, Tensors.fromLongs(new long[] {0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
        20, 22}, 12));
    assertThat(Tensors.maxAbsDiff(seen, everyOther)).isZero();
    assertThat(new DepthEnsemble(0.02, 2, 1e-3, DepthEnsemble.Reduction.MEDIAN, 24).optimisationInput(members))
        .isSameAs(members);
    DepthEnsemble.Result r = limited.ensemble(members);
    assertThat(Tensors.shape(r.depth())).containsExactly(20, 24);
    assertThat(r.optimisation().nfev()).isPositive();
  }

  @Test
  void buildsNoAutogradGraphUnderNoGradGuard() {
    Tensor members = Golden.load("utils", "ensemble").tensor("depth.affine_members.input").clone()
        .requires_grad_(true);
    try (NoGradGuard guard = new NoGradGuard()) {
      DepthEnsemble.Result r = new DepthEnsemble().ensemble(members);
      assertThat(r.depth().requires_grad()).isFalse();
      assertThat(r.uncertainty().requires_grad()).isFalse();
    }
  }

  @Test
  void keepsNativeMemoryFlatInTheCallersScope() {
    Tensor members = Golden.load("pipelines", "depth_ensemble3_batch2_res64").tensor("ensemble_depths.input");
    DepthEnsemble ensemble = new DepthEnsemble();
    long[] after = new long[6];
    long[] inside = new long[6];
    for (int i = 0; i < after.length; i++) {
      long before = Pointer.totalCount();
      try (PointerScope scope = new PointerScope()) {
        ensemble.ensemble(members); // 35 objective evaluations
        // what the call left in the caller's scope: its results, not the temporaries of every evaluation
        inside[i] = Pointer.totalCount() - before;
      }
      after[i] = Pointer.totalCount();
    }
    LOG.info("JavaCPP pointers held by one ensemble() call: {}; live after each scope: {}",
        Arrays.toString(inside), Arrays.toString(after));
    assertThat(after[after.length - 1]).as("live pointers after each call " + Arrays.toString(after))
        .isLessThanOrEqualTo(after[1]);
    assertThat(inside[inside.length - 1]).as("pointers one call leaves to its caller").isLessThan(200);
  }
}
