package marigold4j.ensemble;

/**
 * The line searches behind scipy 1.10.1's BFGS ({@code _line_search_wolfe12}): MINPACK-2's {@code dcsrch} /
 * {@code dcstep} (Moré-Thuente, via {@code scalar_search_wolfe1}) and, when that fails, the strong-Wolfe search with
 * zoom of Nocedal &amp; Wright ({@code scalar_search_wolfe2}). Constants and branch order follow scipy, because with
 * a float32 objective the path the optimiser takes depends on every comparison.
 */
final class LineSearch {
  private static final double C1 = 1e-4;
  private static final double C2 = 0.9;
  // _minimize_bfgs passes amin/amax; xtol is scalar_search_wolfe1's default
  private static final double AMIN = 1e-100;
  private static final double AMAX = 1e100;
  private static final double XTOL = 1e-14;

  private LineSearch() {}

  /** The accepted step, phi at it, phi at 0, and the gradient at the new point (null when not computed). */
  record Step(double alpha, double fval, double oldFval, double[] gradient) {}

  /** Wolfe-1 then Wolfe-2; null where both fail (scipy raises {@code _LineSearchError}). */
  static Step wolfe12(Bfgs.ScalarFunction sf, double[] xk, double[] pk, double[] gfk, double oldFval,
      double oldOldFval) {
    Line line = new Line(sf, xk, pk, gfk);
    double derphi0 = Bfgs.dot(gfk, pk);
    Step step = scalarSearchWolfe1(line, oldFval, oldOldFval, derphi0);
    if (step != null) return step;
    line.gval = null;
    return scalarSearchWolfe2(line, oldFval, oldOldFval, derphi0);
  }

  /** phi(alpha) = f(xk + alpha pk) and its derivative, remembering the last gradient evaluated. */
  private static final class Line {
    final Bfgs.ScalarFunction sf;
    final double[] xk;
    final double[] pk;
    double[] gval;

    Line(Bfgs.ScalarFunction sf, double[] xk, double[] pk, double[] gfk) {
      this.sf = sf;
      this.xk = xk;
      this.pk = pk;
      this.gval = gfk;
    }

    double phi(double alpha) {
      return sf.fun(at(alpha));
    }

    double derphi(double alpha) {
      gval = sf.grad(at(alpha));
      return Bfgs.dot(gval, pk);
    }

    private double[] at(double alpha) {
      double[] x = new double[xk.length];
      for (int i = 0; i < x.length; i++) x[i] = xk[i] + alpha * pk[i];
      return x;
    }
  }

  /** Python's {@code min(a, b)}: {@code b} only when it is strictly smaller (so a NaN {@code b} is ignored). */
  private static double pyMin(double a, double b) {
    return b < a ? b : a;
  }

  private static double initialStep(double phi0, double oldPhi0, double derphi0) {
    double alpha1 = derphi0 != 0 ? pyMin(1.0, 1.01 * 2 * (phi0 - oldPhi0) / derphi0) : 1.0;
    return alpha1 < 0 ? 1.0 : alpha1;
  }

  // ---------------------------------------------------------------- Wolfe 1 (MINPACK-2 dcsrch)

  private static Step scalarSearchWolfe1(Line line, double phi0, double oldPhi0, double derphi0) {
    double alpha1 = initialStep(phi0, oldPhi0, derphi0);
    double phi1 = phi0;
    double derphi1 = derphi0;
    Dcsrch search = new Dcsrch(C1, C2, XTOL, AMIN, AMAX);
    String task = "START";
    double stp = alpha1;
    boolean done = false;
    for (int i = 0; i < 100; i++) {
      task = search.iterate(stp, phi1, derphi1, task);
      stp = search.stp;
      if (task.startsWith("FG")) {
        phi1 = line.phi(stp);
        derphi1 = line.derphi(stp);
      } else {
        done = true;
        break;
      }
    }
    if (!done || task.startsWith("ERROR") || task.startsWith("WARN")) return null;
    return new Step(stp, phi1, phi0, line.gval);
  }

  /** MINPACK-2's dcsrch, its saved state (isave/dsave) held in fields. */
  static final class Dcsrch {
    private static final double P5 = 0.5;
    private static final double P66 = 0.66;
    private static final double XTRAPL = 1.1;
    private static final double XTRAPU = 4.0;
    private final double ftol;
    private final double gtol;
    private final double xtol;
    private final double stpmin;
    private final double stpmax;
    double stp;
    private boolean brackt;
    private int stage;
    private double ginit;
    private double gtest;
    private double gx;
    private double gy;
    private double finit;
    private double fx;
    private double fy;
    private double stx;
    private double sty;
    private double stmin;
    private double stmax;
    private double width;
    private double width1;

    Dcsrch(double ftol, double gtol, double xtol, double stpmin, double stpmax) {
      this.ftol = ftol;
      this.gtol = gtol;
      this.xtol = xtol;
      this.stpmin = stpmin;
      this.stpmax = stpmax;
    }

    /** One call of dcsrch with the step {@code stpIn} and f, g there; returns the new task, leaves the step in stp. */
    String iterate(double stpIn, double f, double g, String task) {
      stp = stpIn;
      if (task.startsWith("START")) {
        String error = null;
        if (stp < stpmin) error = "ERROR: STP .LT. STPMIN";
        if (stp > stpmax) error = "ERROR: STP .GT. STPMAX";
        if (g >= 0) error = "ERROR: INITIAL G .GE. ZERO";
        if (ftol < 0) error = "ERROR: FTOL .LT. ZERO";
        if (gtol < 0) error = "ERROR: GTOL .LT. ZERO";
        if (xtol < 0) error = "ERROR: XTOL .LT. ZERO";
        if (stpmin < 0) error = "ERROR: STPMIN .LT. ZERO";
        if (stpmax < stpmin) error = "ERROR: STPMAX .LT. STPMIN";
        if (error != null) return error;
        brackt = false;
        stage = 1;
        finit = f;
        ginit = g;
        gtest = ftol * ginit;
        width = stpmax - stpmin;
        width1 = width / P5;
        stx = 0;
        fx = finit;
        gx = ginit;
        sty = 0;
        fy = finit;
        gy = ginit;
        stmin = 0;
        stmax = stp + XTRAPU * stp;
        return "FG";
      }
      double ftest = finit + stp * gtest;
      if (stage == 1 && f <= ftest && g >= 0) stage = 2;
      String out = task;
      if (brackt && (stp <= stmin || stp >= stmax)) out = "WARNING: ROUNDING ERRORS PREVENT PROGRESS";
      if (brackt && stmax - stmin <= xtol * stmax) out = "WARNING: XTOL TEST SATISFIED";
      if (stp == stpmax && f <= ftest && g <= gtest) out = "WARNING: STP = STPMAX";
      if (stp == stpmin && (f > ftest || g >= gtest)) out = "WARNING: STP = STPMIN";
      if (f <= ftest && Math.abs(g) <= gtol * (-ginit)) out = "CONVERGENCE";
      if (out.startsWith("WARN") || out.startsWith("CONV")) return out;

      Dcstep s;
      if (stage == 1 && f <= fx && f > ftest) {
        // modified function (psi) while no step with a sufficient decrease and non-negative slope was seen
        double fm = f - stp * gtest;
        double fxm = fx - stx * gtest;
        double fym = fy - sty * gtest;
        double gm = g - gtest;
        double gxm = gx - gtest;
        double gym = gy - gtest;
        s = new Dcstep(stx, fxm, gxm, sty, fym, gym, stp, fm, gm, brackt, stmin, stmax);
        s.run();
        fx = s.fx + s.stx * gtest;
        fy = s.fy + s.sty * gtest;
        gx = s.dx + gtest;
        gy = s.dy + gtest;
      } else {
        s = new Dcstep(stx, fx, gx, sty, fy, gy, stp, f, g, brackt, stmin, stmax);
        s.run();
        fx = s.fx;
        fy = s.fy;
        gx = s.dx;
        gy = s.dy;
      }
      stx = s.stx;
      sty = s.sty;
      stp = s.stp;
      brackt = s.brackt;

      if (brackt) {
        if (Math.abs(sty - stx) >= P66 * width1) stp = stx + P5 * (sty - stx);
        width1 = width;
        width = Math.abs(sty - stx);
      }
      if (brackt) {
        stmin = Math.min(stx, sty);
        stmax = Math.max(stx, sty);
      } else {
        stmin = stp + XTRAPL * (stp - stx);
        stmax = stp + XTRAPU * (stp - stx);
      }
      stp = Math.max(stp, stpmin);
      stp = Math.min(stp, stpmax);
      if (brackt && (stp <= stmin || stp >= stmax) || (brackt && stmax - stmin <= xtol * stmax)) stp = stx;
      return "FG";
    }
  }

  /** MINPACK-2's dcstep: the safeguarded cubic / quadratic step and the update of the interval of uncertainty. */
  static final class Dcstep {
    double stx;
    double fx;
    double dx;
    double sty;
    double fy;
    double dy;
    double stp;
    final double fp;
    final double dp;
    boolean brackt;
    final double stpmin;
    final double stpmax;

    Dcstep(double stx, double fx, double dx, double sty, double fy, double dy, double stp, double fp, double dp,
        boolean brackt, double stpmin, double stpmax) {
      this.stx = stx;
      this.fx = fx;
      this.dx = dx;
      this.sty = sty;
      this.fy = fy;
      this.dy = dy;
      this.stp = stp;
      this.fp = fp;
      this.dp = dp;
      this.brackt = brackt;
      this.stpmin = stpmin;
      this.stpmax = stpmax;
    }

    void run() {
      double sgnd = dp * (dx / Math.abs(dx));
      double stpf;
      if (fp > fx) {
        // higher function value: the minimum is bracketed
        double theta = 3 * (fx - fp) / (stp - stx) + dx + dp;
        double s = max3(Math.abs(theta), Math.abs(dx), Math.abs(dp));
        double gamma = s * Math.sqrt(sq(theta / s) - (dx / s) * (dp / s));
        if (stp < stx) gamma = -gamma;
        double p = (gamma - dx) + theta;
        double q = ((gamma - dx) + gamma) + dp;
        double r = p / q;
        double stpc = stx + r * (stp - stx);
        double stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2) * (stp - stx);
        stpf = Math.abs(stpc - stx) < Math.abs(stpq - stx) ? stpc : stpc + (stpq - stpc) / 2;
        brackt = true;
      } else if (sgnd < 0) {
        // derivatives of opposite sign: bracketed
        double theta = 3 * (fx - fp) / (stp - stx) + dx + dp;
        double s = max3(Math.abs(theta), Math.abs(dx), Math.abs(dp));
        double gamma = s * Math.sqrt(sq(theta / s) - (dx / s) * (dp / s));
        if (stp > stx) gamma = -gamma;
        double p = (gamma - dp) + theta;
        double q = ((gamma - dp) + gamma) + dx;
        double r = p / q;
        double stpc = stp + r * (stx - stp);
        double stpq = stp + (dp / (dp - dx)) * (stx - stp);
        stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
        brackt = true;
      } else if (Math.abs(dp) < Math.abs(dx)) {
        // same sign, decreasing magnitude of the derivative
        double theta = 3 * (fx - fp) / (stp - stx) + dx + dp;
        double s = max3(Math.abs(theta), Math.abs(dx), Math.abs(dp));
        double gamma = s * Math.sqrt(Math.max(0.0, sq(theta / s) - (dx / s) * (dp / s)));
        if (stp > stx) gamma = -gamma;
        double p = (gamma - dp) + theta;
        double q = (gamma + (dx - dp)) + gamma;
        double r = p / q;
        double stpc;
        if (r < 0 && gamma != 0) {
          stpc = stp + r * (stx - stp);
        } else if (stp > stx) {
          stpc = stpmax;
        } else {
          stpc = stpmin;
        }
        double stpq = stp + (dp / (dp - dx)) * (stx - stp);
        if (brackt) {
          stpf = Math.abs(stpc - stp) < Math.abs(stpq - stp) ? stpc : stpq;
          if (stp > stx) {
            stpf = Math.min(stp + Dcsrch.P66 * (sty - stp), stpf);
          } else {
            stpf = Math.max(stp + Dcsrch.P66 * (sty - stp), stpf);
          }
        } else {
          stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
          stpf = Math.min(stpmax, stpf);
          stpf = Math.max(stpmin, stpf);
        }
      } else {
        // same sign, non-decreasing magnitude
        if (brackt) {
          double theta = 3 * (fp - fy) / (sty - stp) + dy + dp;
          double s = max3(Math.abs(theta), Math.abs(dy), Math.abs(dp));
          double gamma = s * Math.sqrt(sq(theta / s) - (dy / s) * (dp / s));
          if (stp > sty) gamma = -gamma;
          double p = (gamma - dp) + theta;
          double q = ((gamma - dp) + gamma) + dy;
          double r = p / q;
          stpf = stp + r * (sty - stp);
        } else if (stp > stx) {
          stpf = stpmax;
        } else {
          stpf = stpmin;
        }
      }
      if (fp > fx) {
        sty = stp;
        fy = fp;
        dy = dp;
      } else {
        if (sgnd < 0) {
          sty = stx;
          fy = fx;
          dy = dx;
        }
        stx = stp;
        fx = fp;
        dx = dp;
      }
      stp = stpf;
    }

    private static double sq(double v) {
      return v * v;
    }

    private static double max3(double a, double b, double c) {
      return Math.max(Math.max(a, b), c);
    }
  }

  // ---------------------------------------------------------------- Wolfe 2 (Nocedal & Wright, alg. 3.5 / 3.6)

  private static Step scalarSearchWolfe2(Line line, double phi0, double oldPhi0, double derphi0) {
    double alpha0 = 0;
    double alpha1 = initialStep(phi0, oldPhi0, derphi0);
    alpha1 = pyMin(alpha1, AMAX);
    double phiA1 = line.phi(alpha1);
    double phiA0 = phi0;
    double derphiA0 = derphi0;
    Double alphaStar = null;
    double phiStar = Double.NaN;
    boolean haveDerphiStar = false;
    boolean broke = false;
    for (int i = 0; i < 10; i++) {
      if (alpha1 == 0 || alpha0 == AMAX) {
        // rounding errors (or amax) stop the search: failure
        return null;
      }
      if (phiA1 > phi0 + C1 * alpha1 * derphi0 || (phiA1 >= phiA0 && i > 0)) {
        Zoom z = zoom(alpha0, alpha1, phiA0, phiA1, derphiA0, line, phi0, derphi0);
        alphaStar = z.alpha;
        phiStar = z.phi;
        haveDerphiStar = z.alpha != null;
        broke = true;
        break;
      }
      double derphiA1 = line.derphi(alpha1);
      if (Math.abs(derphiA1) <= -C2 * derphi0) {
        alphaStar = alpha1;
        phiStar = phiA1;
        haveDerphiStar = true;
        broke = true;
        break;
      }
      if (derphiA1 >= 0) {
        Zoom z = zoom(alpha1, alpha0, phiA1, phiA0, derphiA1, line, phi0, derphi0);
        alphaStar = z.alpha;
        phiStar = z.phi;
        haveDerphiStar = z.alpha != null;
        broke = true;
        break;
      }
      double alpha2 = pyMin(2 * alpha1, AMAX);
      alpha0 = alpha1;
      alpha1 = alpha2;
      phiA0 = phiA1;
      phiA1 = line.phi(alpha1);
      derphiA0 = derphiA1;
    }
    if (!broke) {
      // iteration limit: scipy still returns the last step, without its gradient
      alphaStar = alpha1;
      phiStar = phiA1;
      haveDerphiStar = false;
    }
    if (alphaStar == null) return null;
    return new Step(alphaStar, phiStar, phi0, haveDerphiStar ? line.gval : null);
  }

  private record Zoom(Double alpha, double phi) {}

  private static Zoom zoom(double aLo, double aHi, double phiLo, double phiHi, double derphiLo, Line line,
      double phi0, double derphi0) {
    final double delta1 = 0.2; // cubic interpolant check
    final double delta2 = 0.1; // quadratic interpolant check
    double phiRec = phi0;
    double aRec = 0;
    int i = 0;
    while (true) {
      double dalpha = aHi - aLo;
      double a = dalpha < 0 ? aHi : aLo;
      double b = dalpha < 0 ? aLo : aHi;
      Double aj = null;
      double cchk = 0;
      if (i > 0) {
        cchk = delta1 * dalpha;
        aj = cubicmin(aLo, phiLo, derphiLo, aHi, phiHi, aRec, phiRec);
      }
      if (i == 0 || aj == null || aj > b - cchk || aj < a + cchk) {
        double qchk = delta2 * dalpha;
        aj = quadmin(aLo, phiLo, derphiLo, aHi, phiHi);
        if (aj == null || aj > b - qchk || aj < a + qchk) aj = aLo + 0.5 * dalpha;
      }
      double phiAj = line.phi(aj);
      if (phiAj > phi0 + C1 * aj * derphi0 || phiAj >= phiLo) {
        phiRec = phiHi;
        aRec = aHi;
        aHi = aj;
        phiHi = phiAj;
      } else {
        double derphiAj = line.derphi(aj);
        if (Math.abs(derphiAj) <= -C2 * derphi0) return new Zoom(aj, phiAj);
        if (derphiAj * (aHi - aLo) >= 0) {
          phiRec = phiHi;
          aRec = aHi;
          aHi = aLo;
          phiHi = phiLo;
        } else {
          phiRec = phiLo;
          aRec = aLo;
        }
        aLo = aj;
        phiLo = phiAj;
        derphiLo = derphiAj;
      }
      i++;
      if (i > 10) return new Zoom(null, Double.NaN);
    }
  }

  /**
   * Minimiser of the cubic through (a, fa), (b, fb), (c, fc) with slope fpa at a; null where numpy (errstate
   * raise) would raise on a division by zero, overflow or invalid operation, or the result is not finite.
   */
  static Double cubicmin(double a, double fa, double fpa, double b, double fb, double c, double fc) {
    double cc = fpa;
    double db = b - a;
    double dc = c - a;
    double denom = sq(db * dc) * (db - dc);
    double d00 = dc * dc;
    double d01 = -(db * db);
    double d10 = -(dc * dc * dc);
    double d11 = db * db * db;
    double v0 = fb - fa - cc * db;
    double v1 = fc - fa - cc * dc;
    double bigA = d00 * v0 + d01 * v1;
    double bigB = d10 * v0 + d11 * v1;
    if (denom == 0 || !allFinite(denom, d00, d01, d10, d11, v0, v1, bigA, bigB)) return null;
    bigA /= denom;
    bigB /= denom;
    double radical = bigB * bigB - 3 * bigA * cc;
    if (!allFinite(bigA, bigB, radical) || radical < 0 || 3 * bigA == 0) return null;
    double xmin = a + (-bigB + Math.sqrt(radical)) / (3 * bigA);
    return Double.isFinite(xmin) ? xmin : null;
  }

  /** Minimiser of the quadratic through (a, fa), (b, fb) with slope fpa at a; null as for {@link #cubicmin}. */
  static Double quadmin(double a, double fa, double fpa, double b, double fb) {
    double db = b - a * 1.0;
    double denom = db * db;
    if (denom == 0 || !Double.isFinite(denom)) return null;
    double bigB = (fb - fa - fpa * db) / denom;
    if (bigB == 0 || !Double.isFinite(bigB)) return null;
    double xmin = a - fpa / (2.0 * bigB);
    return Double.isFinite(xmin) ? xmin : null;
  }

  private static double sq(double v) {
    return v * v;
  }

  private static boolean allFinite(double... vs) {
    for (double v : vs) {
      if (!Double.isFinite(v)) return false;
    }
    return true;
  }
}
