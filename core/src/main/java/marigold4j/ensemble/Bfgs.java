package marigold4j.ensemble;

/**
 * scipy's {@code minimize(fun, x0, method="BFGS", tol=gtol, options={"maxiter": maxIter})} without a gradient
 * function, as scipy 1.10.1 runs it ({@code _minimize_bfgs}): identity initial inverse Hessian, gradients from 2-point
 * forward differences with the absolute step {@code sqrt(float64 eps)}, the MINPACK line search with the Wolfe-2
 * fallback ({@link LineSearch}), convergence on the infinity norm of the gradient.
 *
 * <p>The optimiser state is float64 like numpy's; the objective may compute in any precision. Objective evaluations
 * happen in exactly the order and at exactly the points scipy evaluates them, including the caching of the last
 * point that scipy's {@code ScalarFunction} does, so a recorded scipy trace can be replayed evaluation by evaluation.
 */
public final class Bfgs {
  /** scipy's default finite-difference step, {@code sqrt(np.finfo(float).eps)}. */
  static final double EPSILON = Math.sqrt(Math.ulp(1.0));

  private Bfgs() {}

  /** A scalar objective of a parameter vector; it must not keep or modify {@code x}. */
  @FunctionalInterface
  public interface Objective {
    double value(double[] x);
  }

  /**
   * The optimiser's result, named as scipy's {@code OptimizeResult}: {@code status} 0 success, 1 iteration limit, 2
   * precision loss (line search failed), 3 NaN.
   */
  public record Result(double[] x, double fun, int nit, int nfev, int status, String message) {
    public boolean success() {
      return status == 0;
    }
  }

  /**
   * Minimises {@code fun} from {@code x0}.
   *
   * @param gtol stop when {@code max |gradient| <= gtol} ({@code minimize}'s {@code tol} for BFGS)
   * @param maxIter at most this many BFGS iterations (line searches)
   */
  public static Result minimize(Objective fun, double[] x0, double gtol, int maxIter) {
    int n = x0.length;
    ScalarFunction sf = new ScalarFunction(fun, x0);
    double oldFval = sf.fun(x0);
    double[] gfk = sf.grad(x0);
    double[][] hk = identity(n);
    // scipy: "sets the initial step guess to dx ~ 1"
    double oldOldFval = oldFval + norm2(gfk) / 2;
    double[] xk = x0.clone();
    int k = 0;
    int warnflag = 0;
    double gnorm = normInf(gfk);
    while (gnorm > gtol && k < maxIter) {
      double[] pk = matVec(hk, gfk);
      for (int i = 0; i < n; i++) pk[i] = -pk[i];
      LineSearch.Step step = LineSearch.wolfe12(sf, xk, pk, gfk, oldFval, oldOldFval);
      if (step == null) {
        warnflag = 2;
        break;
      }
      double[] sk = new double[n];
      double[] xkp1 = new double[n];
      for (int i = 0; i < n; i++) {
        sk[i] = step.alpha() * pk[i];
        xkp1[i] = xk[i] + sk[i];
      }
      xk = xkp1;
      oldFval = step.fval();
      oldOldFval = step.oldFval();
      double[] gfkp1 = step.gradient() != null ? step.gradient() : sf.grad(xkp1);
      double[] yk = new double[n];
      for (int i = 0; i < n; i++) yk[i] = gfkp1[i] - gfk[i];
      gfk = gfkp1;
      k++;
      gnorm = normInf(gfk);
      if (gnorm <= gtol) break;
      // scipy's relative x tolerance (xrtol) defaults to 0: this stops only on a zero step
      if (step.alpha() * norm2(pk) <= 0.0) break;
      if (!Double.isFinite(oldFval)) {
        warnflag = 2;
        break;
      }
      hk = updateInverseHessian(hk, sk, yk);
    }
    String message;
    if (warnflag == 2) {
      message = "Desired error not necessarily achieved due to precision loss.";
    } else if (k >= maxIter) {
      warnflag = 1;
      message = "Maximum number of iterations has been exceeded.";
    } else if (Double.isNaN(gnorm) || Double.isNaN(oldFval) || anyNaN(xk)) {
      warnflag = 3;
      message = "NaN result encountered.";
    } else {
      message = "Optimization terminated successfully.";
    }
    return new Result(xk, oldFval, k, sf.nfev, warnflag, message);
  }

  /** H' = (I - rho s y^T) H (I - rho y s^T) + rho s s^T, with rho = 1000 when y.s == 0 (as scipy). */
  private static double[][] updateInverseHessian(double[][] hk, double[] sk, double[] yk) {
    int n = sk.length;
    double rhokInv = dot(yk, sk);
    double rhok = rhokInv == 0.0 ? 1000.0 : 1.0 / rhokInv;
    double[][] a1 = new double[n][n];
    double[][] a2 = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        double eye = i == j ? 1.0 : 0.0;
        a1[i][j] = eye - sk[i] * yk[j] * rhok;
        a2[i][j] = eye - yk[i] * sk[j] * rhok;
      }
    }
    double[][] out = matMul(a1, matMul(hk, a2));
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) out[i][j] += rhok * sk[i] * sk[j];
    }
    return out;
  }

  /**
   * scipy's {@code ScalarFunction} for a function without a gradient: caches f and g at the last point asked for
   * (compared by value, as {@code np.array_equal}) and computes g by forward differences at that point.
   */
  static final class ScalarFunction {
    private final Objective fun;
    private double[] x;
    private double f;
    private double[] g;
    private boolean fUpdated;
    private boolean gUpdated;
    int nfev;

    ScalarFunction(Objective fun, double[] x0) {
      this.fun = fun;
      this.x = x0.clone();
      // scipy evaluates f and g at x0 when the object is built
      updateFun();
      updateGrad();
    }

    double fun(double[] at) {
      moveTo(at);
      updateFun();
      return f;
    }

    double[] grad(double[] at) {
      moveTo(at);
      updateGrad();
      return g;
    }

    private void moveTo(double[] at) {
      if (!sameValues(at, x)) {
        x = at.clone();
        fUpdated = false;
        gUpdated = false;
      }
    }

    private void updateFun() {
      if (!fUpdated) {
        f = evaluate(x);
        fUpdated = true;
      }
    }

    private void updateGrad() {
      if (!gUpdated) {
        updateFun();
        g = forwardDifferences(x, f);
        gUpdated = true;
      }
    }

    private double evaluate(double[] at) {
      nfev++;
      return fun.value(at.clone());
    }

    /** scipy's approx_derivative(method="2-point", abs_step=EPSILON) without bounds. */
    private double[] forwardDifferences(double[] x0, double f0) {
      int n = x0.length;
      double[] grad = new double[n];
      for (int i = 0; i < n; i++) {
        double h = EPSILON;
        if ((x0[i] + h) - x0[i] == 0.0) {
          // the step vanished next to a huge |x|: scipy falls back to a relative step
          double sign = x0[i] >= 0 ? 1.0 : -1.0;
          h = EPSILON * sign * Math.max(1.0, Math.abs(x0[i]));
        }
        double[] xi = new double[n];
        for (int j = 0; j < n; j++) xi[j] = x0[j] + (j == i ? h : 0.0);
        double dx = xi[i] - x0[i];
        grad[i] = (evaluate(xi) - f0) / dx;
      }
      return grad;
    }
  }

  static boolean sameValues(double[] a, double[] b) {
    if (a.length != b.length) return false;
    for (int i = 0; i < a.length; i++) {
      if (!(a[i] == b[i])) return false;
    }
    return true;
  }

  static double dot(double[] a, double[] b) {
    double s = 0.0;
    for (int i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  }

  private static double norm2(double[] a) {
    return Math.sqrt(dot(a, a));
  }

  private static double normInf(double[] a) {
    double m = 0.0;
    for (double v : a) {
      double abs = Math.abs(v);
      // np.amax propagates NaN
      if (Double.isNaN(abs)) return Double.NaN;
      if (abs > m) m = abs;
    }
    return m;
  }

  private static boolean anyNaN(double[] a) {
    for (double v : a) {
      if (Double.isNaN(v)) return true;
    }
    return false;
  }

  private static double[][] identity(int n) {
    double[][] m = new double[n][n];
    for (int i = 0; i < n; i++) m[i][i] = 1.0;
    return m;
  }

  private static double[] matVec(double[][] m, double[] v) {
    double[] out = new double[m.length];
    for (int i = 0; i < m.length; i++) out[i] = dot(m[i], v);
    return out;
  }

  private static double[][] matMul(double[][] a, double[][] b) {
    int n = a.length;
    int p = b[0].length;
    double[][] out = new double[n][p];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < p; j++) {
        double s = 0.0;
        for (int k = 0; k < b.length; k++) s += a[i][k] * b[k][j];
        out[i][j] = s;
      }
    }
    return out;
  }
}
