#ifndef ddo_fractional_power_h
#define ddo_fractional_power_h

/**
 * @file
 * Negative fractional powers of a positive operator as sums of resolvents:
 * the rational approximation behind Matérn fields of any smoothness.
 *
 * @ingroup covariance
 */

#include <vector>

namespace ddo
{
  /**
   * A rational approximation of \f$x^{-s}\f$, \f$0 < s < 1\f$, on an
   * interval \f$[1, \Lambda]\f$ with a uniform bound on the *relative*
   * error, in the form
   * \f[
   *   x^{-s} \approx r_s(x) = w_\infty(s) + \frac{w_0(s)}{x} +
   *   \sum_{j} \frac{w_j(s)}{x + d_j},\qquad d_j > 0,\ w > 0,
   * \f]
   * with shifts \f$d_j\f$ shared by every exponent: for a positive
   * operator \f$L\f$ with spectrum in \f$[1,\Lambda]\f$, \f$r_s(L)\f$ costs
   * one solve with each shifted operator \f$L + d_j\f$ (one factorization
   * each, reused for every exponent and right-hand side) and one with
   * \f$L\f$.
   *
   * <h3>Construction</h3>
   * The Balakrishnan formula with \f$t = e^y\f$,
   * \f[
   *   x^{-s} = \frac{\sin \pi s}{\pi} \int_{-\infty}^{\infty}
   *            \frac{e^{(1-s)y}}{e^y + x}\,dy,
   * \f]
   * is discretized with the trapezoidal rule of step h at nodes
   * \f$y_l = l h\f$ (Bonito and Pasciak 2015): the integrand is analytic in
   * the strip \f$|\mathrm{Im}\,y| < \pi\f$, so the error falls like
   * \f$e^{-2\pi^2/h}\f$. The nodes below \f$y_{\min}\f$ and above
   * \f$y_{\max}\f$ are not dropped but summed in closed form with
   * \f$(e^y + x)^{-1} \approx x^{-1}\f$ (giving \f$w_0\f$) and \f$\approx
   * e^{-y}\f$ (giving \f$w_\infty\f$), both geometric series; the range is
   * chosen so these replacements are accurate to the tolerance at
   * \f$x = 1\f$ and \f$x = \Lambda\f$. The relative error is then measured
   * on a fine logarithmic grid of \f$[1, \Lambda]\f$, and of all steps h
   * that meet the tolerance for every requested exponent the one with the
   * fewest shifts is kept.
   *
   * <h3>Why this form, with the measurement</h3>
   * Counts of shifts for a relative error below the tolerance, for one
   * exponent, the worst of s = 0.1, 0.3, ..., 0.9 (printed by the unit test
   * `FractionalPowerQuadrature.RelativeErrorIsBelowTheToleranceOnTheWholeInterval`;
   * one quadrature for several exponents needs a few more):
   *
   * | tolerance | \f$\Lambda = 10^2\f$ | \f$10^4\f$ | \f$10^6\f$ |
   * |---|---|---|---|
   * | 1e-4 | 12 | 15 | 17 |
   * | 1e-6 | 21 | 25 | 28 |
   * | 1e-8 | 34 | 39 | 44 |
   *
   * The count grows with \f$\log\Lambda\f$, so refining a mesh adds a
   * shift or two. A best uniform rational approximation (BURA) of
   * \f$t^s\f$ on \f$[0, 1]\f$ needs fewer poles for an *absolute* error,
   * but its relative error grows like \f$t^{-s}\f$ towards the fine
   * scales of the mesh, which are those that matter for a field's
   * smoothness; this quadrature bounds the relative error on the whole
   * spectrum and its weights come in closed form, with no Remez iteration.
   */
  class FractionalPowerQuadrature
  {
  public:
    /** The weights of \f$r_s\f$ for one exponent. */
    struct Weights
    {
      /** \f$w_j\f$, one per shift. */
      std::vector<double> resolvent;
      /** \f$w_0\f$, the weight of \f$x^{-1}\f$. */
      double inverse = 0;
      /** \f$w_\infty\f$, the constant term. */
      double identity = 0;
    };

    /**
     * Chooses shifts for which \f$r_s\f$ has a relative error at most
     * @p tolerance on \f$[1, \Lambda]\f$, \f$\Lambda\f$ =
     * @p spectrum_ratio, for every s in @p exponents (each in (0, 1)).
     * Throws if an exponent or the tolerance (1e-12 to 1e-1) is out of
     * range or \f$\Lambda < 1\f$.
     */
    FractionalPowerQuadrature(const std::vector<double> &exponents,
                              const double               spectrum_ratio,
                              const double               tolerance);

    /** The shifts \f$d_j\f$, increasing. */
    const std::vector<double> &
    shifts() const
    {
      return shift_values;
    }

    /**
     * The weights of \f$r_s\f$ for any s in (0, 1); the tolerance holds
     * for the exponents given to the constructor (check others with
     * max_relative_error()).
     */
    Weights
    weights(const double s) const;

    /** \f$r_s(x)\f$. */
    double
    evaluate(const double s, const double x) const;

    /**
     * \f$\max |r_s(x)\,x^s - 1|\f$ over 4000 logarithmically spaced points
     * of \f$[1, \Lambda]\f$.
     */
    double
    max_relative_error(const double s) const;

    /** The step h of the trapezoidal rule in \f$y = \log t\f$. */
    double
    step() const
    {
      return h;
    }

    /** \f$\Lambda\f$. */
    double
    spectrum_ratio() const
    {
      return lambda;
    }

  private:
    /** Sets h and the node range for a step; returns the number of shifts. */
    unsigned int
    set_nodes(const std::vector<double> &exponents, const double step, const double tolerance);

    double              lambda = 1;
    double              h      = 1;
    int                 first_node = 0, last_node = 0;
    std::vector<double> shift_values;
  };
} // namespace ddo

#endif
