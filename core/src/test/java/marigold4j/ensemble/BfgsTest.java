package marigold4j.ensemble;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/**
 * {@link Bfgs} and {@link LineSearch} beyond the two iterations the ensembling runs (the recorded scipy traces are
 * replayed in {@link DepthEnsembleTest}): convergence on smooth problems and the strong Wolfe conditions of both line
 * searches.
 */
class BfgsTest {
  private static double rosenbrock(double[] x) {
    double f = 0;
    for (int i = 0; i + 1 < x.length; i++) {
      f += 100 * Math.pow(x[i + 1] - x[i] * x[i], 2) + Math.pow(1 - x[i], 2);
    }
    return f;
  }

  @Test
  void minimisesRosenbrockWithForwardDifferenceGradients() {
    Bfgs.Result r = Bfgs.minimize(BfgsTest::rosenbrock, new double[] {-1.2, 1.0}, 1e-5, 400);
    // forward differences (step 1.5e-8) limit the attainable gradient norm, as in scipy
    assertThat(r.x()[0]).isCloseTo(1.0, within(1e-4));
    assertThat(r.x()[1]).isCloseTo(1.0, within(2e-4));
    assertThat(r.fun()).isLessThan(1e-8);
  }

  @Test
  void stopsAtTheIterationLimitWithScipysStatus() {
    Bfgs.Result r = Bfgs.minimize(BfgsTest::rosenbrock, new double[] {-1.2, 1.0}, 1e-5, 2);
    assertThat(r.nit()).isEqualTo(2);
    assertThat(r.status()).isEqualTo(1);
    assertThat(r.message()).isEqualTo("Maximum number of iterations has been exceeded.");
  }

  @Test
  void doesNotIterateWhenTheStartingGradientIsBelowTolerance() {
    // 1 evaluation at x0 plus one per coordinate for the gradient, nothing else
    Bfgs.Result r = Bfgs.minimize(x -> 1e-6 * (x[0] * x[0] + x[1] * x[1]), new double[] {0.5, -0.5}, 1e-3, 2);
    assertThat(r.nit()).isZero();
    assertThat(r.nfev()).isEqualTo(3);
    assertThat(r.success()).isTrue();
    assertThat(r.x()).containsExactly(0.5, -0.5);
  }

  @Test
  void minimisesAQuadraticExactlyEnoughInFewIterations() {
    // f = sum_i (i + 1) (x_i - 1)^2: BFGS with exact line searches finds it in n steps; ours is close to that
    Bfgs.Objective f = x -> {
      double s = 0;
      for (int i = 0; i < x.length; i++) s += (i + 1) * (x[i] - 1) * (x[i] - 1);
      return s;
    };
    Bfgs.Result r = Bfgs.minimize(f, new double[] {0, 0, 0, 0}, 1e-5, 50);
    assertThat(r.success()).isTrue();
    for (double v : r.x()) assertThat(v).isCloseTo(1.0, within(1e-5));
  }

  @Test
  void dcsrchStepSatisfiesTheStrongWolfeConditions() {
    // phi(a) = (a - 3)^2 - 9 along a unit direction from 0: phi'(0) = -6
    LineSearch.Dcsrch search = new LineSearch.Dcsrch(1e-4, 0.9, 1e-14, 1e-100, 1e100);
    String task = search.iterate(1.0, 0.0, -6.0, "START");
    double stp = search.stp;
    int calls = 0;
    while (task.startsWith("FG") && calls++ < 100) {
      double f = (stp - 3) * (stp - 3) - 9;
      double g = 2 * (stp - 3);
      task = search.iterate(stp, f, g, task);
      stp = search.stp;
    }
    assertThat(task).isEqualTo("CONVERGENCE");
    double f = (stp - 3) * (stp - 3) - 9;
    assertThat(f).isLessThanOrEqualTo(0 + 1e-4 * stp * -6);
    assertThat(Math.abs(2 * (stp - 3))).isLessThanOrEqualTo(0.9 * 6);
  }

  @Test
  void interpolationHelpersMatchTheirPolynomials() {
    // quadratic through (0, 0) with slope -2 and (2, 0): minimum at 1
    assertThat(LineSearch.quadmin(0, 0, -2, 2, 0)).isCloseTo(1.0, within(1e-12));
    // cubic x^3 - 3x (slope -3 at 0) through (0,0), (2,2), (-1,2): local minimum at 1
    assertThat(LineSearch.cubicmin(0, 0, -3, 2, 2, -1, 2)).isCloseTo(1.0, within(1e-12));
    // degenerate inputs return no step (numpy raises and scipy falls back to bisection)
    assertThat(LineSearch.quadmin(1, 0, -2, 1, 0)).isNull();
    assertThat(LineSearch.cubicmin(0, 0, -3, 2, 2, 2, 2)).isNull();
  }

  @Test
  void reportsPrecisionLossWhenBothLineSearchesFail() {
    // a staircase the finite differences cannot see: the gradient points uphill across the steps, MINPACK's search
    // ends in a warning, the Wolfe-2 fallback finds no step either, and BFGS stops at its start as scipy does
    Bfgs.Objective stairs = x -> (x[0] - 3) * (x[0] - 3) + 5 * Math.floor(x[0]) + (x[1] + 1) * (x[1] + 1);
    Bfgs.Result r = Bfgs.minimize(stairs, new double[] {0.9, 0.5}, 1e-5, 20);
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.message()).isEqualTo("Desired error not necessarily achieved due to precision loss.");
    assertThat(r.nit()).isZero();
    assertThat(r.x()).containsExactly(0.9, 0.5);
    assertThat(r.fun()).isEqualTo(stairs.value(new double[] {0.9, 0.5}));
  }
}
