package marigold4j.ensemble;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import marigold4j.testing.Golden;
import marigold4j.torch.Tensors;
import org.bytedeco.pytorch.Tensor;
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
      if (!java.util.Arrays.equals(points.get(i), doubles(evals.get(i).path("x")))
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
}
